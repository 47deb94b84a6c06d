"""The other side of tests/shared_token_cache_interop.rs: Python's azure-identity
SharedTokenCacheCredential on the persistent cache the Rust credential reads and writes, found
where azure-identity looks for it (HOME, DBUS_SESSION_BUS_ADDRESS: the Secret Service, else
the plaintext file it falls back to).

It never touches the network: azure-identity's HTTP goes to FakeTransport below, which serves
the authority's instance discovery, the tenant's OpenID configuration and a token endpoint,
and records what was posted.

Usage: azure_identity_interop.py shared <authority host> <scope> <expected refresh token> <uid> <utid>
       azure_identity_interop.py record <record json> <scope> <expected refresh token> <uid> <utid>
  shared: SharedTokenCacheCredential(authority=...), azure-identity's own cache reader (the
          Azure CLI's client id, any account with a family refresh token).
  record: SharedTokenCacheCredential(authentication_record=...), which reads through MSAL for
          the record's client id.
  Both: get_token (from the cache), then get_token with a claims challenge (which skips cached
  access tokens and redeems the refresh token; the answer names the account <uid>.<utid>).
Prints one JSON object with what it got and what it sent.
"""

import base64
import json
import sys
import time
from urllib.parse import parse_qs, urlparse

from azure.core.pipeline.transport import HttpResponse, HttpTransport
from azure.identity import AuthenticationRecord, SharedTokenCacheCredential

CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}'


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeResponse(HttpResponse):
    def __init__(self, request, status, body):
        super().__init__(request, None)
        self.status_code = status
        self.reason = "OK" if status < 400 else "Bad Request"
        self.content_type = "application/json"
        self.headers = {"Content-Type": "application/json"}
        self._body = json.dumps(body).encode()

    def body(self):
        return self._body


class FakeTransport(HttpTransport):
    """The authority: instance discovery, metadata, and a token endpoint that takes one
    refresh token."""

    def __init__(self, mode, expected_refresh_token, uid, utid):
        self.mode = mode
        self.expected_refresh_token = expected_refresh_token
        self.uid = uid
        self.utid = utid
        self.posted_refresh_tokens = []
        self.token_requests = 0

    def __enter__(self):
        return self

    def __exit__(self, *args):
        pass

    def open(self):
        pass

    def close(self):
        pass

    def send(self, request, **kwargs):
        url = urlparse(request.url)
        base = "https://" + url.netloc + "/" + url.path.strip("/").split("/")[0]
        if url.path.endswith("/discovery/instance"):
            endpoint = parse_qs(url.query)["authorization_endpoint"][0]
            tenant = urlparse(endpoint).path.strip("/").split("/")[0]
            host = urlparse(endpoint).netloc
            return FakeResponse(request, 200, {
                "tenant_discovery_endpoint":
                    "https://%s/%s/v2.0/.well-known/openid-configuration" % (host, tenant),
                "metadata": [{"preferred_network": host, "preferred_cache": host,
                              "aliases": [host]}],
            })
        if url.path.endswith("/.well-known/openid-configuration"):
            return FakeResponse(request, 200, {
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "token_endpoint": base + "/oauth2/v2.0/token",
                "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                "issuer": base + "/v2.0",
            })
        if url.path.endswith("/oauth2/v2.0/token"):
            return self.token(request, base)
        return FakeResponse(request, 404, {"error": "not_found", "url": request.url})

    def token(self, request, base):
        self.token_requests += 1
        form = request.data if isinstance(request.data, dict) else parse_qs(request.body)
        form = {k: (v[0] if isinstance(v, list) else v) for k, v in form.items()}
        if form.get("grant_type") != "refresh_token":
            return FakeResponse(request, 400, {"error": "unsupported_grant_type"})
        self.posted_refresh_tokens.append(form.get("refresh_token"))
        if form.get("refresh_token") != self.expected_refresh_token:
            return FakeResponse(request, 400, {
                "error": "invalid_grant",
                "error_description": "AADSTS70000: unexpected refresh token"})
        now = int(time.time())
        tenant = urlparse(base).path.strip("/")
        id_token = ".".join([
            b64({"alg": "none", "typ": "JWT"}),
            b64({"aud": form.get("client_id"), "iss": base + "/v2.0", "iat": now, "nbf": now,
                 "exp": now + 3600, "oid": self.uid, "sub": "subject", "tid": tenant,
                 "preferred_username": "alice@contoso.com"}),
            "",
        ])
        return FakeResponse(request, 200, {
            "token_type": "Bearer",
            "scope": form.get("scope"),
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": "at-from-azure-identity-" + self.mode,
            "refresh_token": "rt-from-azure-identity-" + self.mode,
            "id_token": id_token,
            "client_info": b64({"uid": self.uid, "utid": self.utid}),
            "foci": "1",
        })


def main():
    mode, where, scope, expected_rt, uid, utid = sys.argv[1:7]
    transport = FakeTransport(mode, expected_rt, uid, utid)
    if mode == "shared":
        credential = SharedTokenCacheCredential(authority=where, transport=transport)
    elif mode == "record":
        record = AuthenticationRecord.deserialize(where)
        credential = SharedTokenCacheCredential(authentication_record=record, transport=transport)
    else:
        raise SystemExit("unknown mode " + mode)
    out = {"mode": mode}
    out["cached_access_token"] = credential.get_token(scope).token
    out["token_requests_for_cached"] = transport.token_requests
    out["refreshed_access_token"] = credential.get_token(scope, claims=CLAIMS).token
    out["posted_refresh_tokens"] = transport.posted_refresh_tokens
    print(json.dumps(out))


if __name__ == "__main__":
    main()
