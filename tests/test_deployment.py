"""The AWS stack and the Shopify app configuration: CloudFormation passes cfn-lint, topics are all there."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import cfnlint.api
from cfnlint.decode.cfn_yaml import load, loads

ROOT = Path(__file__).resolve().parent.parent


def lint(template: dict) -> list[str]:
    return [str(match) for match in cfnlint.api.lint(json.dumps(template))]


def serverless_resources() -> dict:
    """Return serverless.yml's CloudFormation part as a template ("${param:x}" made a real parameter)."""
    text = (ROOT / "serverless.yml").read_text().replace('"${param:alarmEmail}"', "!Ref AlarmEmail")
    resources = loads(text)["resources"]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"AlarmEmail": {"Type": "String", "Default": ""}},
        **{key: resources[key] for key in ("Conditions", "Resources", "Outputs")},
    }


def test_serverless_resources_pass_cfn_lint() -> None:
    template = serverless_resources()
    assert lint(template) == []
    resources = template["Resources"]
    for queue in ("Render", "Writeback", "Maintenance"):
        redrive = resources[f"{queue}Queue"]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{queue}DeadLetterQueue", "Arn"]}
        assert resources[f"{queue}DeadLetterAlarm"]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    bucket = resources["ImagesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["TagFilters"] == [
        {"Key": "worn-retention", "Value": "draft"}
    ]


def test_serverless_functions_and_their_events() -> None:
    functions = load(str(ROOT / "serverless.yml"))["functions"]
    assert set(functions) == {"http", "events", "schedule", "writeback", "maintenance"}
    assert functions["http"]["events"] == [{"httpApi": "*"}]
    assert functions["events"]["events"][0]["eventBridge"]["pattern"] == {"detail-type": ["shopifyWebhook"]}
    assert "schedule" in functions["schedule"]["events"][0]
    for name in ("writeback", "maintenance"):
        assert functions[name]["events"][0]["sqs"]["functionResponseType"] == "ReportBatchItemFailures"


def test_gpu_worker_template_passes_cfn_lint() -> None:
    template = load(str(ROOT / "deploy" / "gpu-worker.yml"))
    assert lint(template) == []
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["Command"] == ["worn", "worker", "--device", "cuda"]
    assert {"Type": "GPU", "Value": "1"} in container["ResourceRequirements"]


def test_shopify_app_toml_subscribes_every_topic_worn_handles() -> None:
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert set(config["access_scopes"]["scopes"].split(",")) == {
        "read_products",
        "write_products",
        "read_files",
        "write_files",
    }
    subscriptions = config["webhooks"]["subscriptions"]
    topics = {topic for sub in subscriptions for topic in sub.get("topics", [])}
    compliance = {topic for sub in subscriptions for topic in sub.get("compliance_topics", [])}
    assert topics == {"products/create", "products/update", "products/delete", "app/uninstalled"}
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}
    assert config["webhooks"]["api_version"] == "2026-10"
    product_fields = next(sub for sub in subscriptions if "products/update" in sub.get("topics", []))[
        "include_fields"
    ]
    assert {
        "admin_graphql_api_id",
        "category",
        "media",
        "updated_at",
        "tags",
        "product_type",
        "title",
    } <= set(product_fields)
