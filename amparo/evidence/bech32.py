"""Bech32 (BIP 173) as age uses it for keys: no length limit, one case per string."""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """A string is not valid Bech32 (bad characters, mixed case or a wrong checksum)."""


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= _GENERATOR[bit]
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    accumulator = 0
    bits = 0
    result: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            result.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        raise Bech32Error("Bech32 data has non-zero padding bits")
    return result


def encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` under the human-readable part ``hrp`` (lowercase result)."""
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _polymod([*_expand_hrp(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values + checksum)


def decode(text: str) -> tuple[str, bytes]:
    """Return ``(hrp, data)`` from a Bech32 string; the hrp comes back lowercase.

    Raises Bech32Error when the string is mixed-case, has a character outside the
    Bech32 alphabet, or its checksum does not match.
    """
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("Bech32 string mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        raise Bech32Error("Bech32 string has no separator or is too short")
    hrp = text[:separator]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        raise Bech32Error("Bech32 prefix has a character outside printable ASCII")
    try:
        values = [_CHARSET.index(c) for c in text[separator + 1 :]]
    except ValueError:
        raise Bech32Error("Bech32 string has a character outside its alphabet") from None
    if _polymod([*_expand_hrp(hrp), *values]) != 1:
        raise Bech32Error("Bech32 checksum does not match")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))
