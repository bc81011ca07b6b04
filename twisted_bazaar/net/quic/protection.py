"""
QUIC's header protection (RFC 9001 §5.4) with one copy of a packet
where aioquic makes three (L{LeanHeaderProtection}).

aioquic's C{HeaderProtection.apply} joins the header and the sealed
payload, copies the join into a bytearray to mask a few header bytes,
and copies it again into bytes; its C{remove} copies a whole packet into
a bytearray to unmask its first few bytes.  At 64 KiB a datagram those
copies are a good part of what a MiB costs beyond its AES-GCM.  Only the
header's bytes are masked, so only they are copied; the bytes on the
wire are the same.
"""

from aioquic._crypto import CryptoError

__all__ = ["LeanHeaderProtection"]

#: RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's
#: first byte, and is 16 bytes.
PACKET_NUMBER_MOST, SAMPLE = 4, 16


class LeanHeaderProtection:
    """
    aioquic's header protection of one direction, its mask (C{_mask}, the
    key's cipher over a sample) used as it is.
    """

    def __init__(self, original):
        self._mask = original._mask

    def apply(self, plain_header, protected_payload):
        """The packet: plain_header masked, then protected_payload."""
        pn_length = (plain_header[0] & 0x03) + 1
        pn_offset = len(plain_header) - pn_length
        at = PACKET_NUMBER_MOST - pn_length
        mask = self._mask(protected_payload[at:at + SAMPLE])
        header = bytearray(plain_header)
        header[0] ^= mask[0] & (0x0F if header[0] & 0x80 else 0x1F)
        for i in range(pn_length):
            header[pn_offset + i] ^= mask[1 + i]
        return b"".join((header, protected_payload))

    def remove(self, packet, pn_offset):
        """(the packet's header unmasked, its truncated packet number)."""
        at = pn_offset + PACKET_NUMBER_MOST
        if at + SAMPLE > len(packet):
            # aioquic's own error: its caller drops the packet.
            raise CryptoError("Packet is too short to sample")
        mask = self._mask(packet[at:at + SAMPLE])
        header = bytearray(packet[:at])
        header[0] ^= mask[0] & (0x0F if header[0] & 0x80 else 0x1F)
        pn_length = (header[0] & 0x03) + 1
        number = 0
        for i in range(pn_length):
            header[pn_offset + i] ^= mask[1 + i]
            number = header[pn_offset + i] | (number << 8)
        return bytes(header[:pn_offset + pn_length]), number
