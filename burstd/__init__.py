"""burstd: group photo bursts, rank them by sharpness, pre-rate darktable XMP sidecars."""

from __future__ import annotations

__version__ = "0.1.0"
