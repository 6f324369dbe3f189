"""A fake WeChat platform for tests: builds signed pushes (plain or safe mode) and opens our replies.

Safe-mode encryption and reply decryption use wechatpy, an implementation independent of ours.
"""

import hashlib

from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import deserialize_reply

ACCOUNT = "gh_minzheng"


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_xml(content, msg_id, user="oCitizen1", created=1714036504):
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def voice_xml(recognition, msg_id, user="oCitizen1", created=1714036504):
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[media1]]></MediaId><Format><![CDATA[amr]]></Format>"
        f"<Recognition>{cdata(recognition)}</Recognition><MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(msg_id, user="oCitizen1", created=1714036504):
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://127.0.0.1/p.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event, user="oCitizen1", created=1714036504, key=None):
    key_xml = f"<EventKey>{cdata(key)}</EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event>{cdata(event)}</Event>{key_xml}</xml>"
    )


class Platform:
    def __init__(self, token, aes_key=None, appid=None, now=1714036504):
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.now = now
        self._nonce = 1000

    def params(self):
        self._nonce += 1
        timestamp, nonce = str(self.now), str(self._nonce)
        return {"signature": sha1_sorted(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": "oCitizen1"}

    def push(self, xml, safe=False):
        """(query params, body) of one push, as WeChat would POST it."""
        params = self.params()
        if not safe:
            return params, xml.encode("utf-8")
        envelope = self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
        import xml.etree.ElementTree as ET

        root = ET.fromstring(envelope)
        encrypted = root.findtext("Encrypt")
        params.update(encrypt_type="aes", msg_signature=root.findtext("MsgSignature"))
        body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
        return params, body.encode("utf-8")

    def open_reply(self, body, params, safe=False):
        """Our passive reply parsed by wechatpy (decrypted and its MsgSignature checked in safe mode)."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if safe:
            import xml.etree.ElementTree as ET

            root = ET.fromstring(text)
            text = self.crypto.decrypt_message(text, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce"))
        return deserialize_reply(text)
