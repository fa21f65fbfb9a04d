"""Hostile input files, built by the tests themselves (none is ever committed).

The zip bomb is streamed: one megabyte of sheet XML is deflated once, with a full flush so
its compressed bytes stand alone, and those bytes are written again for every further
megabyte; zipfile still computes the CRC and sizes of the whole inflated member. 1 GB of
sheet XML costs about 4 MB on disk and half a second to build.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from datetime import datetime

import openpyxl

from pipeline.demo.generate import generate_events

# Headers as NVCD's export spells them; a row that passes every rule but the ones a test aims at.
HEADER = ["Date", "State", "LGA", "Communiity", "Crisis Type", "Actor 1", "Total Deaths", "Sources", "Source URL",
          "Description"]  # fmt: skip
MB = 1 << 20
SHEET = "xl/worksheets/sheet1.xml"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def row(day: int = 1, community: str = "Kujama", description: str = "Bandits attack") -> list[object]:
    """Return one NVCD event row for HEADER."""
    return [datetime(2024, 5, day), "Kaduna", "Chikun", community, "Banditry", "Bandits", 2, "Punch",
            f"https://punchng.com/{community.lower()}-{day}", description]  # fmt: skip


def workbook(*sheets: tuple[str, list[list[object]], str]) -> bytes:
    """Return XLSX bytes with sheets (name, rows, state: "visible", "hidden" or "veryHidden")."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows, state in sheets:
        sheet = book.create_sheet(name)
        for values in rows:
            sheet.append(values)
        sheet.sheet_state = state
    # A workbook must show one sheet: make the first visible one active.
    book.active = next(i for i, (_, _, state) in enumerate(sheets) if state == "visible") if any(
        state == "visible" for _, _, state in sheets) else 0  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cells(values: Iterable[str], number: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(f'<c r="{letters[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))


class _Repeating:
    """A deflater for zipfile that compresses ``block`` once and repeats its bytes; anything else it deflates."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        self.packed = self._flushed(block)

    @staticmethod
    def _flushed(data: bytes) -> bytes:
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        return deflate.compress(data) + deflate.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        return self.packed if data is self.block else self._flushed(data)

    def flush(self) -> bytes:
        return zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final (empty) block


def replace_sheet(book: bytes, head: bytes, block: bytes, repeats: int, tail: bytes, member: str = SHEET) -> bytes:
    """Return ``book`` with ``member`` streamed as head + block * repeats + tail (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != member:
                target.writestr(info.filename, source.read(info.filename))
                continue
            streamed = zipfile.ZipInfo(member)
            streamed.compress_type = zipfile.ZIP_DEFLATED
            with target.open(streamed, "w", force_zip64=True) as stream:
                stream._compressor = _Repeating(block)
                stream.write(head)
                for _ in range(repeats):
                    stream.write(block)
                stream.write(tail)
    return out.getvalue()


def _sheet_head(extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_MAIN}"><sheetData>'
            f'<row r="1">{_cells(HEADER, 1)}</row>{extra}').encode()  # fmt: skip


_SHEET_TAIL = b"</sheetData></worksheet>"


def zip_bomb(inflated_mb: int = 1024) -> bytes:
    """Return a workbook of a few MB whose events sheet inflates to ``inflated_mb`` MB of rows."""
    one = (b"<row>" + _cells(["01/05/2024", "Kaduna", "Chikun", "Kujama", "Banditry"], 2).replace(' r="A2"', "")
           .encode() + b"</row>")  # fmt: skip
    block = one * (MB // len(one))
    return replace_sheet(workbook(("Home", [HEADER, row()], "visible")), _sheet_head(), block, inflated_mb, _SHEET_TAIL)


def far_cell(reference: str = "XFD1048576") -> bytes:
    """Return a tiny workbook whose sheet has a second cell at ``reference``: calamine would fill the rectangle."""
    far = f'<row r="{reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}"><c r="{reference}"><v>1</v></c></row>'
    return replace_sheet(workbook(("Home", [HEADER, row()], "visible")), _sheet_head(far), b"", 0, _SHEET_TAIL)


def cells_without_references(rows: int = 400, width: int = 20_000) -> bytes:
    """Return a workbook whose cells carry no r="..." (placed one after another): rows x width cells."""
    wide = b"<row>" + b"<c><v>1</v></c>" * width + b"</row>"
    return replace_sheet(workbook(("Home", [HEADER, row()], "visible")), _sheet_head(), wide, rows, _SHEET_TAIL)


def many_parts(count: int = 1_500) -> bytes:
    """Return a valid workbook padded with ``count`` tiny extra zip members."""
    out = io.BytesIO(workbook(("Home", [HEADER, row()], "visible")))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as book:
        for i in range(count):
            book.writestr(f"customXml/item{i}.xml", b"<a/>")
    return out.getvalue()


def lying_size(declared: int = 1_000) -> bytes:
    """Return a workbook whose sheet declares ``declared`` bytes (with that prefix's CRC) but inflates to more."""
    book = workbook(("Home", [HEADER, *[row(day=1 + i % 28, community=f"C{i}") for i in range(2_000)]], "visible"))
    archive = zipfile.ZipFile(io.BytesIO(book))
    info = archive.getinfo(SHEET)
    crc = zlib.crc32(archive.read(SHEET)[:declared])
    data = bytearray(book)
    # Local header: CRC at +14, uncompressed size at +22; central header: CRC at +16, size at +24.
    struct.pack_into("<I", data, info.header_offset + 14, crc)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    central = data.find(b"PK\x01\x02")
    while struct.unpack_from("<I", data, central + 42)[0] != info.header_offset:
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def csv_bytes(n: int = 5, seed: int = 3, encoding: str = "utf-8", **columns: object) -> bytes:
    """Return generated NVCD events as CSV text in ``encoding``, with ``columns`` overridden."""
    frame = generate_events(n, seed=seed, start=datetime(2024, 1, 1).date(), end=datetime(2024, 12, 31).date())
    return frame.assign(**columns).to_csv(index=False).encode(encoding)
