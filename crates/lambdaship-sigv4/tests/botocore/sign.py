"""Signs Function URL requests with botocore's own SigV4 signers and prints them as JSON.

Each case is printed as the HTTP client would send it: the path and query exactly as they go
on the wire, every header line (with the Host line the client adds), the body in hex, and the
signing time. The Rust test feeds these to `verify`.
"""

import datetime
import json
import sys
from urllib.parse import urlsplit

import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY_ID = "AKIDLOCALTEST"
SECRET = "local/secret+key"
REGION = "us-east-1"
SERVICE = "lambda"
HOST = "abc123.lambda-url.us-east-1.on.aws"
SIGNED_AT = datetime.datetime(2026, 1, 2, 3, 4, 5)

# Pin the signing clock so the vectors are the same on every run.
botocore.auth.get_current_datetime = lambda *args, **kwargs: SIGNED_AT


def wire(name, request, presigned=False):
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    # The request's own headers, which may repeat a name; then what preparing added.
    headers = list(request.headers.items())
    names = {k.lower() for k, _ in headers}
    headers += [(k, v) for k, v in prepared.headers.items() if k.lower() not in names]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return {
        "name": name,
        "method": prepared.method,
        "path": parts.path,
        "query": parts.query if parts.query else None,
        "headers": headers,
        "body": body.hex(),
        "presigned": presigned,
    }


def signed(name, method, url, token=None, unsigned_payload=False, **kwargs):
    request = AWSRequest(method=method, url=url, **kwargs)
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    SigV4Auth(Credentials(KEY_ID, SECRET, token), SERVICE, REGION).add_auth(request)
    return wire(name, request)


def presigned(name, url, expires):
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(KEY_ID, SECRET), SERVICE, REGION, expires=expires).add_auth(request)
    return wire(name, request, presigned=True)


base = f"https://{HOST}"
multi = AWSRequest(method="GET", url=f"{base}/multi")
# AWSRequest's headers keep repeated names, which the signer joins with a comma.
multi.headers["X-Multi"] = "  first   value "
multi.headers["X-Multi"] = "second\tvalue"
SigV4Auth(Credentials(KEY_ID, SECRET), SERVICE, REGION).add_auth(multi)

cases = [
    signed("plain get", "GET", f"{base}/"),
    signed(
        "query with repeated keys and spaces",
        "GET",
        f"{base}/search?b=2&a=hello%20world&a=1&empty=&flag&tilde=~x",
    ),
    signed(
        "params encoded by the client (spaces as +)",
        "GET",
        f"{base}/items",
        params=[("q", "a b"), ("q", "c+d/e"), ("z", "~!")],
    ),
    signed("path with unicode and %2F", "GET", f"{base}/caf%C3%A9/a%2Fb/x%20y/%E2%82%AC"),
    signed("path with sub-delimiters", "GET", f"{base}/(x)!*'@:$,;=+&"),
    signed("path with empty segments", "GET", f"{base}//a//b/"),
    signed(
        "post with a body",
        "POST",
        f"{base}/orders?id=7",
        data=b'{"item": "caf\xc3\xa9", "n": 2}',
        headers={"Content-Type": "application/json"},
    ),
    signed(
        "session token",
        "POST",
        f"{base}/",
        token="FwoGZXIvYXdzEXAMPLE//token==",
        data=b"hello",
    ),
    signed("unsigned payload", "PUT", f"{base}/upload", unsigned_payload=True, data=b"bytes"),
    signed(
        "date header",
        "GET",
        f"{base}/dated",
        headers={"Date": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ),
    wire("repeated header", multi),
    presigned("presigned url", f"{base}/report?format=csv&name=a%20b", 300),
]

json.dump({"signed_at": int(SIGNED_AT.replace(tzinfo=datetime.timezone.utc).timestamp()),
           "key_id": KEY_ID, "secret": SECRET, "cases": cases}, sys.stdout)
