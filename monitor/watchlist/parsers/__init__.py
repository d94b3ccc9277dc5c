"""Parse published address lists into entries, streaming where files can be large: one
module per format (like monitor.scoring.rules), `detect` to choose one, `base` for what
they share.

Formats:

* ``sdn-xml`` — OFAC's classic ``SDN.XML`` (``sdnList/sdnEntry`` with ``idList/id``);
* ``sdn-advanced-xml`` — OFAC's ``SDN_ADVANCED.XML`` (``DistinctParty`` profiles whose
  ``Feature`` types are resolved through ``ReferenceValueSets``);
* ``ofac-csv`` — OFAC's legacy ``sdn.csv`` plus its remarks overflow ``sdn_comments.csv``,
  where addresses hide in free text as ``Digital Currency Address - ETH 0x…;``;
* ``text`` — one address per line, ``#`` comments and blank lines allowed;
* ``csv`` — a header with ``address`` and optional ``label``/``name``, ``category``,
  ``program`` columns (other columns are kept in ``extra``);
* ``json`` — an array of address strings, or of objects with ``address`` and optional
  ``label``/``name``, ``category``, ``program``.

From the OFAC formats only EVM addresses are taken: identifiers of a
``Digital Currency Address - …`` type whose value starts with ``0x`` (ETH, and the same
account on USDT, ETC, ARB, BSC, …). Other currencies (XBT, XMR, TRX, …) are ignored.

Checksums: published lists are EIP-55 mixed case, and matching is case-insensitive. A
mixed-case address whose checksum does not verify is still accepted (and reported as a
warning): the list's publisher is the authority on which 20 bytes are listed, a casing
slip on their side does not make it another account, and refusing it would block the
whole import and leave the previous, staler list in force. Anything that is not
``0x`` + 40 hex digits is an error naming the file and line (or entry).

Hostile files: XML goes through defusedxml, which refuses entity declarations (billion
laughs, external entities that would read local files or URLs) before anything expands;
text that is not UTF-8 is an error naming the file and the offset of the first bad byte.
"""

from __future__ import annotations

from monitor.watchlist.parsers.base import ListEntry, ListFormat, ListFormatError, ParsedList
from monitor.watchlist.parsers.detect import detect_format, parse_list

__all__ = ["ListEntry", "ListFormat", "ListFormatError", "ParsedList", "detect_format",
           "parse_list"]
