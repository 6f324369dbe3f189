"""The WeChat Official Account message protocol: signatures, safe-mode crypto, XML in and out, dedup.

Facts and vectors: /work/shared/protocols.md section 2. Everything here is pure or holds only
in-memory state; the Starlette endpoint (wechat_endpoint.py) drives it.
"""

import base64
import hashlib
import hmac
import os
import re
import struct
import time
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY_BYTES = 64 * 1024
BLOCK = 32  # WeChat pads to 32-byte blocks, not AES's 16 (PKCS#7 with k = 32)
# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, surrogates): a client can
# type them, and one in a push or a reply makes the whole document unparsable. In UTF-8 the C0
# bytes never occur inside a multi-byte character, so dropping them from the raw body is safe.
_FORBIDDEN_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class WeChatProtocolError(ValueError):
    """A request that is not a well-formed WeChat push (bad XML, bad ciphertext, wrong AppID)."""


def signature(token, timestamp, nonce, *extra):
    """sha1 over the sorted parts: `signature` (token, timestamp, nonce) or `msg_signature` (+ Encrypt)."""
    parts = sorted(str(p) for p in (token, timestamp, nonce, *extra))
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def signature_ok(expected, given):
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.encode("ascii", "replace"), (given or "").encode("ascii", "replace"))


def timestamp_fresh(timestamp, now, max_skew):
    """True when the push's timestamp is within max_skew seconds of now (against replays)."""
    try:
        return abs(int(timestamp) - now) <= max_skew
    except (TypeError, ValueError):
        return False


class SafeModeCrypto:
    """AES-256-CBC of the 安全模式: key = b64decode(EncodingAESKey + '='), IV = key[:16]."""

    def __init__(self, token, encoding_aes_key, appid):
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except ValueError as exc:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey") from exc
        if len(key) != 32:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        self.token = token
        self.key = key
        self.appid = appid

    def decrypt(self, encrypted):
        """The inner XML of an <Encrypt> value; WeChatProtocolError when it is not ours."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except ValueError as exc:
            raise WeChatProtocolError("Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise WeChatProtocolError("ciphertext length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise WeChatProtocolError("bad padding")
        plain = plain[16:-pad]  # 16 random bytes in front
        if len(plain) < 4:
            raise WeChatProtocolError("plaintext too short")
        (length,) = struct.unpack(">I", plain[:4])
        xml, appid = plain[4 : 4 + length], plain[4 + length :]
        if len(xml) != length or not hmac.compare_digest(appid, self.appid.encode("utf-8")):
            raise WeChatProtocolError("AppID does not match")
        return xml

    def encrypt(self, xml, nonce, timestamp):
        """The safe-mode reply envelope for a reply XML (str)."""
        body = xml.encode("utf-8")
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self.appid.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")
        msg_signature = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(msg_signature)}</MsgSignature>"
            f"<TimeStamp>{int(timestamp)}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )


def parse_xml(body):
    """Flat dict of the child elements of <xml>; WeChatProtocolError for anything hostile or malformed.

    defusedxml refuses DTDs, entity declarations and external references, so XXE and
    billion-laughs payloads end here as a 400, never a stack trace.
    """
    if len(body) > MAX_BODY_BYTES:
        raise WeChatProtocolError("body too large")
    try:
        root = fromstring(_FORBIDDEN_BYTES.sub(b"", body), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise WeChatProtocolError(f"not acceptable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise WeChatProtocolError("root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Message:
    """One inbound push, with the fields the assistant uses."""

    to_user: str  # our account (gh_...)
    from_user: str  # the citizen's openid
    create_time: str
    msg_type: str  # text, voice, image, event, ...
    msg_id: str
    content: str  # text: Content; voice: Recognition
    event: str  # subscribe, unsubscribe, CLICK, ... (lower-cased except CLICK/VIEW/SCAN as sent)
    event_key: str

    @classmethod
    def from_fields(cls, fields):
        if not fields.get("FromUserName") or not fields.get("ToUserName") or not fields.get("MsgType"):
            raise WeChatProtocolError("missing FromUserName, ToUserName or MsgType")
        msg_type = fields["MsgType"].lower()
        content = fields.get("Content", "") if msg_type == "text" else fields.get("Recognition", "")
        return cls(
            to_user=fields["ToUserName"],
            from_user=fields["FromUserName"],
            create_time=fields.get("CreateTime", ""),
            msg_type=msg_type,
            msg_id=fields.get("MsgId", ""),
            content=content,
            event=fields.get("Event", ""),
            event_key=fields.get("EventKey", ""),
        )

    @property
    def dedup_key(self):
        """MsgId for messages; FromUserName + CreateTime (+ Event) for events, as WeChat recommends."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"ev:{self.from_user}:{self.create_time}:{self.event}"


def xml_text(text):
    """`text` without the characters XML 1.0 forbids."""
    return _FORBIDDEN_CHARS.sub("", str(text))


def cdata(text):
    """A CDATA section that `]]>` inside the text cannot close early, and that holds only
    characters XML allows."""
    return "<![CDATA[" + xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message, content, now=None):
    """The passive text reply XML to an inbound message (To/From swapped)."""
    created = int(time.time() if now is None else now)
    return (
        f"<xml><ToUserName>{cdata(message.from_user)}</ToUserName><FromUserName>{cdata(message.to_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content></xml>"
    )


class Deduplicator:
    """Remembers what each push key is doing for `ttl` seconds, so WeChat's retries join the first try."""

    def __init__(self, ttl=60.0, max_entries=10_000, clock=time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries = {}  # key -> (expires, value)

    def get(self, key):
        entry = self._entries.get(key)
        if entry is None or entry[0] < self.clock():
            return None
        return entry[1]

    def put(self, key, value):
        now = self.clock()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: e for k, e in self._entries.items() if e[0] >= now}
            while len(self._entries) >= self.max_entries:  # still full of live keys: drop the oldest
                self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (now + self.ttl, value)
        return value
