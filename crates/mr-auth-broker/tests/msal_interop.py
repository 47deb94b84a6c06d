"""The other side of tests/msal_interop.rs: real MSAL for Python (msal + msal-extensions) on
the same persistent cache as the Rust credential, stored the way azure-identity stores it.

It never touches the network: MSAL's HTTP goes to FakeAuthority below, which serves the
tenant's OpenID configuration and a token endpoint, and records what MSAL sent.

Usage: msal_interop.py read|write <store> <location> <client id> <tenant> <expected refresh token>
                       [<authority host> [<home tenant id>]]
  store: "file" (location = the cache file) or "libsecret" (location = the signal file; the
  Secret Service is on DBUS_SESSION_BUS_ADDRESS).
  authority host: default login.microsoftonline.com (any host: MSAL's HTTP goes to the fake).
  home tenant id: the utid of the accounts the fake signs in; default the tenant.
Prints one JSON object with what MSAL saw and did.
"""

import base64
import json
import sys
import time

import msal
import msal_extensions

SCOPES = ["https://storage.azure.com/.default"]
UID = "00000000-0000-0000-0000-000000000001"


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class Response:
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.text = json.dumps(body)
        self.headers = {"content-type": "application/json"}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("HTTP %d: %s" % (self.status_code, self.text))


class FakeAuthority:
    """MSAL's http_client: the tenant's metadata and token endpoint, no network."""

    def __init__(self, client_id, tenant, expected_refresh_token, host, home_tenant):
        self.client_id = client_id
        self.tenant = tenant
        self.home_tenant = home_tenant
        self.base = "https://" + host + "/" + tenant
        self.expected_refresh_token = expected_refresh_token
        self.posted_refresh_tokens = []
        self.token_requests = 0

    def get(self, url, params=None, headers=None, **kwargs):
        if url.endswith("/.well-known/openid-configuration"):
            return Response(200, {
                "authorization_endpoint": self.base + "/oauth2/v2.0/authorize",
                "token_endpoint": self.base + "/oauth2/v2.0/token",
                "device_authorization_endpoint": self.base + "/oauth2/v2.0/devicecode",
                "issuer": self.base + "/v2.0",
            })
        return Response(404, {"error": "not_found", "url": url})

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self.token_requests += 1
        data = data or {}
        if data.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"})
        self.posted_refresh_tokens.append(data.get("refresh_token"))
        if data.get("refresh_token") != self.expected_refresh_token:
            return Response(400, {"error": "invalid_grant",
                                  "error_description": "AADSTS70000: unexpected refresh token"})
        now = int(time.time())
        id_token = ".".join([
            b64({"alg": "none", "typ": "JWT"}),
            b64({"aud": self.client_id, "iss": self.base + "/v2.0", "iat": now, "nbf": now,
                 "exp": now + 3600, "oid": UID, "sub": "subject", "tid": self.tenant,
                 "preferred_username": "user@contoso.com", "name": "Test User"}),
            "",
        ])
        return Response(200, {
            "token_type": "Bearer",
            "scope": " ".join(SCOPES),
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": "at-from-python",
            "refresh_token": "rt-from-python",
            "id_token": id_token,
            "client_info": b64({"uid": UID, "utid": self.home_tenant}),
        })


def persistence(store, location):
    if store == "file":
        return msal_extensions.FilePersistence(location)
    if store == "libsecret":
        # As azure-identity's _get_persistence does on Linux.
        name = location.rsplit("/", 1)[-1]
        return msal_extensions.LibsecretPersistence(
            location, name, {"MsalClientID": "Microsoft.Developer.IdentityService"},
            label="MSALCache")
    raise SystemExit("unknown store " + store)


def main():
    mode, store, location, client_id, tenant, expected_rt = sys.argv[1:7]
    host = sys.argv[7] if len(sys.argv) > 7 else "login.microsoftonline.com"
    home_tenant = sys.argv[8] if len(sys.argv) > 8 else tenant
    authority = FakeAuthority(client_id, tenant, expected_rt, host, home_tenant)
    cache = msal_extensions.PersistedTokenCache(persistence(store, location))
    app = msal.PublicClientApplication(
        client_id,
        authority=authority.base,
        token_cache=cache,
        http_client=authority,
        instance_discovery=False,
    )
    out = {"mode": mode}
    if mode == "read":
        accounts = app.get_accounts()
        out["usernames"] = [a.get("username") for a in accounts]
        if accounts:
            cached = app.acquire_token_silent(SCOPES, account=accounts[0])
            out["cached_access_token"] = (cached or {}).get("access_token")
            out["token_requests_for_cached"] = authority.token_requests
            refreshed = app.acquire_token_silent(SCOPES, account=accounts[0], force_refresh=True)
            out["refreshed_access_token"] = (refreshed or {}).get("access_token")
            out["refresh_error"] = (refreshed or {}).get("error_description")
    elif mode == "write":
        result = app.acquire_token_by_refresh_token(expected_rt, SCOPES)
        out["access_token"] = result.get("access_token")
        out["error"] = result.get("error_description")
    else:
        raise SystemExit("unknown mode " + mode)
    out["posted_refresh_tokens"] = authority.posted_refresh_tokens
    print(json.dumps(out))


if __name__ == "__main__":
    main()
