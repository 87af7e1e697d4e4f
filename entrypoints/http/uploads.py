"""Multipart image uploads: the form, and the body limit that is checked as it streams in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from domain.files.images import MAX_IMAGE_BYTES

__all__ = ["UPLOAD_MAX_BODY", "ImageForm", "ImageUpload"]

UPLOAD_MAX_BODY = MAX_IMAGE_BYTES + 64 * 1024
"""A multipart body may hold a 5 MiB file plus its part headers; a larger body is refused
with 413 while it streams in, before it is read whole."""


@dataclass
class ImageUpload:
    """A multipart form with one part, ``file``."""

    file: UploadFile


ImageForm = Annotated[ImageUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
