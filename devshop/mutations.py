"""Resolve the Admin GraphQL mutations Worn sends, through the catalog."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from devshop.gids import gid
from devshop.resolvers import Context, JobView, check_input_size


def _ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def staged_uploads_create(_: Any, info: GraphQLResolveInfo, input: list[dict[str, Any]]) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "write_files", "write_products")
    check_input_size("input", input)
    targets, errors = ctx.core.staged.create(ctx.shop, input)
    return {"stagedTargets": targets, "userErrors": errors.items}


def product_update(
    _: Any,
    info: GraphQLResolveInfo,
    product: dict[str, Any] | None = None,
    media: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "write_products")
    check_input_size("media", media)
    fields = dict(product or {})
    target = ctx.product(fields.pop("id")) if fields.get("id") else None
    fields.pop("id", None)
    updated, errors = ctx.core.catalog.product_update(ctx.shop, target, fields, list(media or []))
    return {"product": updated, "userErrors": errors.items}


def _files_errors(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"code": e.get("code"), "field": e["field"], "message": e["message"]} for e in items]


def file_update(_: Any, info: GraphQLResolveInfo, files: list[dict[str, Any]]) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "write_files")
    check_input_size("files", files)
    for item in files:
        check_input_size("referencesToAdd", item.get("referencesToAdd"))
        check_input_size("referencesToRemove", item.get("referencesToRemove"))
    updated, errors = ctx.core.catalog.file_update(ctx.shop, files, ctx.lookup)
    return {"files": updated, "userErrors": _files_errors(errors.items)}


def file_delete(_: Any, info: GraphQLResolveInfo, fileIds: list[str]) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "write_files")
    check_input_size("fileIds", fileIds)
    deleted, errors = ctx.core.catalog.file_delete(ctx.shop, fileIds, ctx.lookup)
    return {"deletedFileIds": deleted, "userErrors": _files_errors(errors.items)}


def product_reorder_media(
    _: Any, info: GraphQLResolveInfo, id: str, moves: list[dict[str, Any]]
) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "write_products")
    check_input_size("moves", moves)
    job, errors = ctx.core.catalog.reorder_media(ctx.shop, ctx.product(id), moves, ctx.lookup)
    return {
        "job": None if job is None else JobView(id=gid("Job", job.id), done=job.done),
        "mediaUserErrors": _files_errors(errors.items),
        "userErrors": [{"field": e["field"], "message": e["message"]} for e in errors.items],
    }


MUTATION_RESOLVERS: dict[str, Any] = {
    "Mutation.stagedUploadsCreate": staged_uploads_create,
    "Mutation.productUpdate": product_update,
    "Mutation.fileUpdate": file_update,
    "Mutation.fileDelete": file_delete,
    "Mutation.productReorderMedia": product_reorder_media,
}
