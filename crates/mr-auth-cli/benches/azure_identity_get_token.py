"""The reference of the entra_token_process bench: a fresh Python process asks azure-identity for
a token, as a script or tool run from a shell does, on the persistent token cache that
`mr-auth login` filled (the same plaintext file), for the account `mr-auth login` saved.

Usage: azure_identity_get_token.py <authentication_record.json> <authority> <scope>
  authority: where the authority is reached, `https://host:port` (the bench's TLS front).
Prints the access token.

azure-identity takes the authority from the record (`127.0.0.1`, a host name as Entra's
`login.microsoftonline.com` is), which would mean port 443; the record is read as saved and only
its authority is replaced by the front's `host:port`. MSAL keys the cache by host name without
the port, so it finds the entries `mr-auth login` stored.

`disable_instance_discovery` keeps MSAL from asking login.microsoftonline.com about the (mock)
authority; MSAL still fetches the tenant's OpenID configuration from the authority itself when
it builds its application, in every new process (the bench counts those requests).
"""

import sys
from urllib.parse import urlparse

from azure.identity import (
    AuthenticationRecord,
    InteractiveBrowserCredential,
    TokenCachePersistenceOptions,
)


def main():
    record_path, authority, scope = sys.argv[1:4]
    with open(record_path, encoding="utf-8") as f:
        saved = AuthenticationRecord.deserialize(f.read())
    record = AuthenticationRecord(
        saved.tenant_id,
        saved.client_id,
        urlparse(authority).netloc,
        saved.home_account_id,
        saved.username,
    )
    credential = InteractiveBrowserCredential(
        authentication_record=record,
        cache_persistence_options=TokenCachePersistenceOptions(allow_unencrypted_storage=True),
        disable_automatic_authentication=True,
        disable_instance_discovery=True,
    )
    print(credential.get_token(scope).token)


if __name__ == "__main__":
    main()
