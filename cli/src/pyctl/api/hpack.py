"""HPACK (RFC 7541) for the HTTP/2 client (h2grpc): requests are sent as literals (no table, no
Huffman); responses are decoded in full (static and dynamic tables, Huffman)."""


class HpackError(ValueError):
    """A header block that does not decode."""


_STATIC = [(n.encode(), v.encode()) for n, v in (
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
    (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
    ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
    ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
    ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
    ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
    ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
    ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""))]

# Appendix B's code length of each symbol (0-255, then EOS); the code is canonical, so the codes follow
_HUFFMAN_LENGTHS = bytes.fromhex(
    "0d171c1c1c1c1c1c1c181e1c1c1e1c1c1c1c1c1c1c1c1e1c1c1c1c1c1c1c1c1c060a0a0c0d06080b0a0a080b0806060605050506"
    "06060606060607080f060c0a0d06070707070707070707070707070707070707070707070807080d130d0e060f05060506050606"
    "060507070606060506070605050607070707070f0b0e0d1c141614141616161716171717171718171818161718171717171516"
    "171617171816151416161717151716161815161717151516151716171714161616171616171a1a1413161716191a1a1a1b1b1a"
    "181913151a1b1b1a1b1815151a1a1c1b1b1b14181415161515171616191918181a171a1b1a1a1b1b1b1b1b1c1b1b1b1b1b1a1e")
_huffman: dict[tuple[int, int], int] | None = None


def _huffman_table() -> dict[tuple[int, int], int]:
    """(code length, code) -> symbol, made on first use; published whole, as a thread (a forwarded signal's
    call) may decode at the same time."""
    global _huffman
    if _huffman is None:
        table = {}
        code, prev = -1, 0
        for sym in sorted(range(257), key=lambda s: (_HUFFMAN_LENGTHS[s], s)):
            length = _HUFFMAN_LENGTHS[sym]
            code = (code + 1) << (length - prev) if code >= 0 else 0
            prev = length
            table[(length, code)] = sym
        _huffman = table
    return _huffman


def huffman_decode(data: bytes) -> bytes:
    table = _huffman_table()
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = code << 1 | (byte >> shift) & 1
            length += 1
            sym = table.get((length, code))
            if sym is not None:
                if sym == 256:
                    raise HpackError("EOS in a Huffman string")
                out.append(sym)
                code = length = 0
    if length > 7 or code != (1 << length) - 1:  # padding: the EOS code's leading ones, under a byte
        raise HpackError("bad Huffman padding")
    return bytes(out)


def _int(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    mask = (1 << bits) - 1
    n = data[pos] & mask
    pos += 1
    if n < mask:
        return n, pos
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        n += (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def _encode_int(n: int, bits: int, first: int = 0) -> bytes:
    mask = (1 << bits) - 1
    if n < mask:
        return bytes([first | n])
    out = bytearray([first | mask])
    n -= mask
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """Literals without indexing, new names, no Huffman: nothing for the peer to remember."""
    out = bytearray()
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += b"\x00" + _encode_int(len(n), 7) + n + _encode_int(len(v), 7) + v
    return bytes(out)


class Decoder:
    def __init__(self) -> None:
        self.table: list[tuple[bytes, bytes]] = []  # the dynamic table, newest first
        self.size = 0
        self.max_size = 4096

    def _get(self, index: int) -> tuple[bytes, bytes]:
        if 0 < index <= len(_STATIC):
            return _STATIC[index - 1]
        if 0 < index - len(_STATIC) <= len(self.table):
            return self.table[index - len(_STATIC) - 1]
        raise HpackError(f"no table entry {index}")

    def _evict(self) -> None:
        while self.size > self.max_size:
            n, v = self.table.pop()
            self.size -= len(n) + len(v) + 32

    def _string(self, data: bytes, pos: int) -> tuple[bytes, int]:
        huffman = data[pos] & 0x80
        size, pos = _int(data, pos, 7)
        raw = data[pos:pos + size]
        return (huffman_decode(raw) if huffman else bytes(raw)), pos + size

    def decode(self, data: bytes) -> list[tuple[str, str]]:
        out = []
        pos = 0
        while pos < len(data):
            b = data[pos]
            if b & 0x80:  # indexed
                index, pos = _int(data, pos, 7)
                out.append(self._get(index))
                continue
            if b & 0xE0 == 0x20:  # dynamic table size update
                self.max_size, pos = _int(data, pos, 5)
                self._evict()
                continue
            indexing = b & 0xC0 == 0x40
            index, pos = _int(data, pos, 6 if indexing else 4)
            if index:
                name = self._get(index)[0]
            else:
                name, pos = self._string(data, pos)
            value, pos = self._string(data, pos)
            if indexing:
                self.table.insert(0, (name, value))
                self.size += len(name) + len(value) + 32
                self._evict()
            out.append((name, value))
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in out]
