"""The WeChat Official Account message protocol: signatures, safe-mode crypto, XML in and out, dedup.

Facts and vectors: /work/shared/protocols.md section 2. Everything here is pure or holds only
in-memory state; the Starlette endpoint (wechat_endpoint.py) drives it.
"""

import base64
import hashlib
import heapq
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

from retrieval.errors import SettingsError

MAX_BODY_BYTES = 64 * 1024
# The longest value each field may have; WeChat's own are far shorter (openid 28, MsgId 19 digits).
# Longer ones are refused at parse time, so no client can make the in-memory tables hold megabytes.
FIELD_LIMITS = {"ToUserName": 64, "FromUserName": 64, "CreateTime": 12, "MsgType": 32, "MsgId": 32, "Event": 32, "EventKey": 512}
MAX_NONCE_CHARS = 64
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
            raise SettingsError(f"WECHAT_AES_KEY must be the 43-character EncodingAESKey of the account (it has {len(encoding_aes_key)} characters)") from None
        if len(key) != 32:
            raise SettingsError(f"WECHAT_AES_KEY must be the 43-character EncodingAESKey of the account (it has {len(encoding_aes_key)} characters)")
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
        for name, limit in FIELD_LIMITS.items():
            if len(fields.get(name, "")) > limit:
                raise WeChatProtocolError(f"{name} is longer than {limit} characters")
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
        """FromUserName + MsgId for messages (a MsgId alone would let a signed push from another
        user with the same MsgId get the first user's reply); FromUserName + CreateTime (+ Event,
        EventKey) for events, as WeChat recommends: two menu clicks in one second are two events."""
        if self.msg_id:
            return f"msg:{self.from_user}:{self.msg_id}"
        return f"ev:{self.from_user}:{self.create_time}:{self.event}:{self.event_key}"

    @property
    def log_ref(self):
        """What the application log may say about this push: the MsgId, or for an event a short
        hash of its key (never the openid)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return "ev:" + hashlib.sha256(self.dedup_key.encode("utf-8")).hexdigest()[:12]


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


class _Expiring:
    """A dict whose entries expire at a time given per entry (the signature window), bounded by
    the bytes of its keys; expired entries are dropped in expiry order (a heap), and when the
    table is full of live entries the oldest goes first."""

    def __init__(self, window, max_bytes, clock):
        self.window = window
        self.max_bytes = max_bytes
        self.clock = clock
        self._entries = {}  # key -> [expires, value]
        self._heap = []  # (expires, key)
        self._bytes = 0

    def _drop_expired(self, now):
        while self._heap and self._heap[0][0] < now:
            expires, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == expires:
                self._remove(key)

    def _remove(self, key):
        del self._entries[key]
        self._bytes -= _size(key)

    def _get(self, key):
        now = self.clock()
        self._drop_expired(now)
        entry = self._entries.get(key)
        return None if entry is None or entry[0] < now else entry

    def _put(self, key, value, expires):
        now = self.clock()
        self._drop_expired(now)
        entry = self._entries.get(key)
        if entry is not None:
            if expires > entry[0]:
                entry[0] = expires
                heapq.heappush(self._heap, (expires, key))
            entry[1] = value
            return
        self._bytes += _size(key)
        while self._bytes > self.max_bytes and self._entries:
            self._remove(next(iter(self._entries)))
        self._entries[key] = [expires, value]
        heapq.heappush(self._heap, (expires, key))
        if len(self._heap) > 4 * len(self._entries) + 64:  # stale heap entries of extended keys
            self._heap = [(e[0], k) for k, e in self._entries.items()]
            heapq.heapify(self._heap)

    def __len__(self):
        return len(self._entries)


ENTRY_OVERHEAD = 200  # bytes an entry costs besides its key (dict slot, list, heap tuple, digest or task)


def _size(key):
    return ENTRY_OVERHEAD + (sum(len(part) for part in key) if isinstance(key, tuple) else len(key))


class Deduplicator(_Expiring):
    """What each push key is doing, kept while any signed request carrying it could still be
    accepted (its timestamp + the signature window), so retries and replays join the first try."""

    def __init__(self, window=300, max_bytes=8 * 1024 * 1024, clock=time.time):
        super().__init__(window, max_bytes, clock)

    def get(self, key):
        entry = self._get(key)
        return None if entry is None else entry[1]

    def put(self, key, value, timestamp):
        self._put(key, value, int(timestamp) + self.window)
        return value

    def extend(self, key, timestamp):
        """A later signed request carries this key: remember it until that one expires too."""
        entry = self._get(key)
        if entry is not None:
            self._put(key, entry[1], int(timestamp) + self.window)


NEW, REPEAT, FORGED = "new", "repeat", "forged"


class ReplayGuard(_Expiring):
    """(timestamp, nonce) -> digest of the body, for as long as the signature is accepted.

    In plain mode the signature covers token, timestamp and nonce but not the body, so a logged
    query string would sign any body for the whole window: the same pair with the same body is
    WeChat retrying (REPEAT), with any other body a forgery (FORGED).
    """

    def __init__(self, window=300, max_bytes=16 * 1024 * 1024, clock=time.time):
        super().__init__(window, max_bytes, clock)

    def check(self, timestamp, nonce, body):
        digest = hashlib.sha256(body).hexdigest()
        key = (str(timestamp), str(nonce))
        entry = self._get(key)
        if entry is None:
            self._put(key, digest, int(timestamp) + self.window)
            return NEW
        return REPEAT if hmac.compare_digest(entry[1], digest) else FORGED
