"""What reading the makernote costs per JPEG: `python -m tests.bench.makernotes` (about a minute).

    python -m tests.bench.makernotes [--jpeg FILE] [--repeat N]

For each real camera file in tests/data/photos/makernotes (and the others burstd's tests use), the
time exiv2 takes to read its EXIF block (`decode._exiv2_block`, what a scan does per JPEG of a make
whose makernote it reads), against the time the reduced decode of a 24 MP JPEG takes (the decode
floor). The 24 MP JPEG is one of the benchmark card's (`/work/bench-data/24mp/...`, or `--jpeg`),
whose EXIF block is replaced by each real camera's, byte for byte, so the whole per-file analysis
(`analyse.analyse_file`) is also timed with a real makernote in it, with and without the makernote
read, alternately. One thread: the figures are per file and per core; on a loaded machine the
whole-file times move by more than the makernote costs, so the exiv2 column is the figure to trust.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from burstd.analysis import decode as decoding
from burstd.analysis.analyse import analyse_file
from tests.photos import DATA

CAMERA_FILES = sorted((DATA / "makernotes").glob("*.jpg")) + [DATA / "flower.jpg", DATA / "IMG_5910.jpg"]
BENCH = Path("/work/bench-data/24mp")


def best_ms(run: Callable[[], object], repeat: int) -> float:
    """The median of `repeat` runs, in milliseconds (after one warm-up run)."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def paired_ms(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median ms of `run` with the makernote read and without it, alternating run by run so that the
    load of a shared machine hits both alike."""
    wants = decoding.wants_exiv2
    on, off = [], []
    run()
    for _ in range(repeat):
        for times, reading in ((on, wants), (off, lambda make: False)):
            decoding.wants_exiv2 = reading
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    decoding.wants_exiv2 = wants
    return statistics.median(on) * 1000, statistics.median(off) * 1000


def exif_block(path: Path) -> bytes:
    with Image.open(path) as im:
        return im.info.get("exif", b"")


def with_exif(jpeg: bytes, block: bytes) -> bytes:
    """`jpeg` with its APP1 EXIF segment replaced by `block` (APP1's payload)."""
    pos, out = 2, bytearray(jpeg[:2])
    while jpeg[pos] == 0xFF and jpeg[pos + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(jpeg[pos + 2:pos + 4], "big")
        if not (jpeg[pos + 1] == 0xE1 and jpeg[pos + 4:pos + 10] == b"Exif\x00\x00"):
            out += jpeg[pos:pos + 2 + length]
        pos += 2 + length
    segment = b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block
    return bytes(out[:2] + segment + out[2:] + jpeg[pos:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jpeg", type=Path, help="a 24 MP JPEG (default: the benchmark card's first)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    big = args.jpeg or next(iter(sorted(BENCH.glob("*/card/*.JPG"))), None)
    floor = best_ms(lambda: decoding.reduced_grey(big), args.repeat) if big else None
    print(f"decode floor (reduced grey decode) of {big}: {floor:.1f} ms" if big else "no 24 MP JPEG found")
    print(f"{'file':22} {'EXIF block':>10} {'exiv2 read':>10} {'keys':>5}   analyse_file 24 MP: with / without the makernote read")
    with tempfile.TemporaryDirectory() as tmp:
        for path in CAMERA_FILES:
            block = exif_block(path)
            ms = best_ms(lambda: decoding._exiv2_block(block), args.repeat * 10)
            keys = len(decoding._exiv2_block(block))
            line = f"{path.name:22} {len(block):>8} B {ms:>7.2f} ms {keys:>5}"
            if big:
                spliced = Path(tmp) / f"{path.stem}_24mp.jpg"
                spliced.write_bytes(with_exif(big.read_bytes(), block))
                on, off = paired_ms(lambda: analyse_file(spliced, 0), args.repeat)
                line += f"   {on:6.1f} / {off:6.1f} ms, difference {on - off:+.2f} ms"
            print(line)


if __name__ == "__main__":
    main()
