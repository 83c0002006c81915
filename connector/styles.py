"""Load house styles from YAML, validate them with one clear line per problem, and version them per shop."""

from __future__ import annotations

import hashlib
import json
import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from renderer.errors import ConfigError

Kind = Literal["necklace", "pendant", "earrings", "ring", "bracelet", "anklet"]
KINDS: tuple[Kind, ...] = get_args(Kind)  # the renderer's KINDS, spelled as a type for validation
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ALT_FIELDS = {"title", "model", "kind", "shop", "plate"}


class StyleError(ConfigError):
    """A house style is invalid; the message has one line per problem naming the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlateRecipe(_Strict):
    """How to generate a plate once on a GPU (text-to-image), to be approved like any draft.

    The defaults suit the recommended SDXL-Lightning folder (renderer/diffusion/README.md): 4 steps, no
    guidance; candidate i uses seed + i, so the same recipe always gives the same plates.
    """

    model: str = "sdxl-lightning"
    prompt: Annotated[str, Field(min_length=3, max_length=2000)]
    negative_prompt: str = ""
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)]
    width: Annotated[int, Field(ge=256, le=2048, multiple_of=64)] = 1024
    height: Annotated[int, Field(ge=256, le=2048, multiple_of=64)] = 1280
    steps: Annotated[int, Field(ge=1, le=100)] = 4
    guidance: Annotated[float, Field(ge=0, le=30)] = 0.0
    count: Annotated[int, Field(ge=1, le=16)] = 4


class PlateSpec(_Strict):
    """One model photo of the roster: an image (package, file or storage) or a generation recipe."""

    id: str
    model: str = Field(default="", description="the model's name, used in alt text")
    image: str | None = None
    generate: PlateRecipe | None = None
    kinds: Annotated[list[Kind], Field(min_length=1)]
    crop: tuple[int, int, int, int] | None = None
    status: Literal["approved", "pending", "retired"] = "approved"
    # Filled in when a shop's copy is versioned, so the version changes when the picture does.
    sha256: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("expected a short slug of lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("image")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(pkg:[\w.-]+/.+|file:.+|storage:.+)$", value):
            raise ValueError(
                "expected pkg:PACKAGE/path/in/package, file:path/relative/to/style or storage:KEY"
            )
        return value

    @field_validator("crop")
    @classmethod
    def _crop(cls, value: tuple[int, int, int, int] | None) -> tuple[int, int, int, int] | None:
        if value is not None and (min(value) < 0 or value[2] < 64 or value[3] < 64):
            raise ValueError("expected [x, y, width, height] in pixels, width and height at least 64")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PlateSpec:
        if (self.image is None) == (self.generate is None):
            raise ValueError("a plate needs exactly one of 'image' or 'generate'")
        return self


class Output(_Strict):
    """Size and encoding of the images Worn writes (Shopify takes up to 4472 px on the long edge)."""

    width: Annotated[int, Field(ge=256, le=4472)] = 2048
    height: Annotated[int, Field(ge=256, le=4472)] = 2560
    format: Literal["jpeg", "png", "webp"] = "jpeg"
    quality: Annotated[int, Field(ge=50, le=100)] = 90
    # Never silently: a plate smaller than the output is rendered at its own resolution unless allowed.
    allow_upscale: bool = False


class Look(_Strict):
    """How the piece meets the plate: shadows, occlusion, how far its colour follows the plate's light."""

    shadow_strength: Annotated[float, Field(ge=0, le=1)] = 0.35
    ambient_occlusion: Annotated[float, Field(ge=0, le=1)] = 0.25
    light_match: Annotated[float, Field(ge=0, le=1)] = 0.6
    refine: bool = True  # diffusion pass over the seam when a GPU worker has the weights


class Quality(_Strict):
    """Below these a render is not offered as a draft."""

    min_ssim: Annotated[float, Field(ge=0.5, le=1)] = 0.97
    max_delta_e: Annotated[float, Field(gt=0, le=50)] = 6.0
    scale_tolerance: Annotated[float, Field(gt=0, le=1)] = 0.10
    min_anchor_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5


class Approval(_Strict):
    auto_approve: bool = False
    draft_ttl_days: Annotated[int, Field(ge=1, le=365)] = 30


class WriteBackSpec(_Strict):
    """Where approved images go in the product's media, their alt text, and how old ones are removed."""

    position: Literal["first", "after_source", "last"] | Annotated[int, Field(ge=0, le=249)] = "after_source"
    alt_template: Annotated[str, Field(min_length=1, max_length=400)] = "{title}, worn by {model}"
    # unlink: fileUpdate referencesToRemove (the file stays in Files); delete: fileDelete.
    replace: Literal["unlink", "delete"] = "unlink"

    @field_validator("alt_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        unknown = names - _ALT_FIELDS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use any of {sorted(_ALT_FIELDS)}")
        return value


class JewelryRule(_Strict):
    """A shop's own rule: when a product field matches, it is that kind (or 'none': not jewelry)."""

    field: Literal["product_type", "tag", "title", "vendor", "category"]
    equals: str | None = None
    contains: str | None = None
    kind: Kind | Literal["none"]

    @model_validator(mode="after")
    def _one_test(self) -> JewelryRule:
        if (self.equals is None) == (self.contains is None):
            raise ValueError("a rule needs exactly one of 'equals' or 'contains'")
        return self


_DEFAULT_SIZE_FIELDS: dict[Kind, list[str]] = {
    "necklace": ["custom.chain_length", "custom.length"],
    "pendant": ["custom.chain_length", "custom.length", "custom.pendant_size"],
    "earrings": ["custom.drop_length", "custom.length", "custom.size"],
    "ring": ["custom.ring_size", "shopify.ring-size"],
    "bracelet": ["custom.bracelet_length", "custom.length"],
    "anklet": ["custom.anklet_length", "custom.length"],
}


class Jewelry(_Strict):
    """Which products count as jewelry and where their stated size is read from."""

    kinds: Annotated[list[Kind], Field(min_length=1)] = list(KINDS)
    rules: list[JewelryRule] = []
    size_metafields: dict[Kind, list[str]] = Field(default_factory=lambda: dict(_DEFAULT_SIZE_FIELDS))

    @field_validator("size_metafields")
    @classmethod
    def _metafield_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for names in value.values():
            for name in names:
                if not re.match(r"^[\w-]+\.[\w-]+$", name):
                    raise ValueError(f"metafield {name!r}: expected NAMESPACE.KEY")
        return value


class HouseStyle(_Strict):
    """A store's look: its model roster, output, look, quality gates, approval, write-back, jewelry rules."""

    name: str
    description: str = ""
    plates: Annotated[list[PlateSpec], Field(min_length=1)]
    output: Output = Output()
    look: Look = Look()
    quality: Quality = Quality()
    approval: Approval = Approval()
    write_back: WriteBackSpec = WriteBackSpec()
    jewelry: Jewelry = Jewelry()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("expected a short slug of lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("plates")
    @classmethod
    def _unique_ids(cls, value: list[PlateSpec]) -> list[PlateSpec]:
        seen: set[str] = set()
        for plate in value:
            if plate.id in seen:
                raise ValueError(f"plate id {plate.id!r} appears twice")
            seen.add(plate.id)
        return value

    def active_plates(self, kind: str | None = None) -> list[PlateSpec]:
        """Return the approved plates, those allowed to carry `kind` when one is given."""
        return [
            plate
            for plate in self.plates
            if plate.status == "approved"
            and plate.image is not None
            and (kind is None or kind in plate.kinds)
        ]

    def document(self) -> dict[str, Any]:
        """Return the style as plain JSON data (what a version stores)."""
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """Return the SHA-256 of the canonical JSON document: equal styles hash equal."""
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(
            ("literal[", "int", "str")
        ):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_style(data: Any, source: str) -> HouseStyle:
    """Validate parsed YAML/JSON data as a house style; raise StyleError naming `source`, key and problem."""
    if not isinstance(data, dict):
        raise StyleError(
            f"{source}: expected a mapping of style keys at the top level, got {type(data).__name__}"
        )
    try:
        return HouseStyle.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (check its spelling)"
            lines.append(f"{source}: {_location(error['loc'])}: {message}")
        raise StyleError("\n".join(dict.fromkeys(lines))) from None


def load_style_file(path: Path) -> HouseStyle:
    """Read and validate one house-style YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StyleError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StyleError(f"{path}: {where}invalid YAML ({problem})") from None
    style = parse_style(data, str(path))
    if style.name != path.stem:
        raise StyleError(f"{path}: name: {style.name!r} must match the file name {path.stem!r}")
    return style


def load_styles(directory: Path) -> dict[str, HouseStyle]:
    """Load every `*.yaml` in `directory`; collect all problems of all files into one StyleError."""
    if not directory.is_dir():
        raise StyleError(f"{directory}: house-style folder not found (setting STYLES_DIR)")
    styles: dict[str, HouseStyle] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            styles[path.stem] = load_style_file(path)
        except StyleError as exc:
            problems.append(str(exc))
    if problems:
        raise StyleError("\n".join(problems))
    if not styles:
        raise StyleError(f"{directory}: no house styles (*.yaml) found")
    return styles
