"""Pure imaging: a product photo and the store's model plates in, on-model images and a quality report out."""

from renderer.analysis import analyze_plate
from renderer.catalog import SampleProduct, sample_products
from renderer.contact import contact_sheet
from renderer.cutout import Cutout, cutout
from renderer.errors import ConfigError, CutoutError, ImageDecodeError, InputError, WornError
from renderer.imageio import LoadedImage, content_hash, encode_image, load_image
from renderer.kinds import KINDS
from renderer.models import warm_up
from renderer.options import RenderOptions
from renderer.plates import Capability, Hand, Plate, PlateAnalysis, Point, Scale
from renderer.quality import QualityReport, fidelity
from renderer.render import Reason, RenderOutcome, render
from renderer.sizes import StatedSize, parse_size, typical_size

__all__ = [
    "KINDS",
    "Capability",
    "ConfigError",
    "Cutout",
    "CutoutError",
    "Hand",
    "ImageDecodeError",
    "InputError",
    "LoadedImage",
    "Plate",
    "PlateAnalysis",
    "Point",
    "QualityReport",
    "Reason",
    "RenderOptions",
    "RenderOutcome",
    "SampleProduct",
    "Scale",
    "StatedSize",
    "WornError",
    "analyze_plate",
    "contact_sheet",
    "content_hash",
    "cutout",
    "encode_image",
    "fidelity",
    "load_image",
    "parse_size",
    "render",
    "sample_products",
    "typical_size",
    "warm_up",
]
