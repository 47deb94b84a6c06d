"""The other side of tests/device_code_interop.rs: Python's azure-identity DeviceCodeCredential
(on MSAL and msal-extensions) against the loopback mock authority, reached over https through
the test's TLS front, with the persistent cache azure-identity keeps (a plaintext file here).

Usage: device_code_interop.py sign-in|silent <authority> <tenant> <client id> <ca file> <scope>
                               [<record file>]
  sign-in: signs in with a device code; the prompt goes to stderr as one JSON line
           ({"verification_uri", "user_code"}); prints {"record", "token"}.
  silent:  with the record in <record file> and automatic authentication disabled, gets a
           token from the cache; prints {"token"}.
"""

import json
import sys

from azure.identity import (
    AuthenticationRecord,
    DeviceCodeCredential,
    TokenCachePersistenceOptions,
)


def prompt(verification_uri, user_code, expires_on):
    print(json.dumps({"verification_uri": verification_uri, "user_code": user_code,
                      "expires_on": expires_on.isoformat()}), file=sys.stderr, flush=True)


def main():
    mode, authority, tenant, client_id, ca_file, scope = sys.argv[1:7]
    common = dict(
        client_id=client_id,
        tenant_id=tenant,
        authority=authority,
        disable_instance_discovery=True,
        cache_persistence_options=TokenCachePersistenceOptions(allow_unencrypted_storage=True),
        connection_verify=ca_file,
        prompt_callback=prompt,
    )
    if mode == "sign-in":
        credential = DeviceCodeCredential(**common)
        record = credential.authenticate(scopes=[scope])
        token = credential.get_token(scope)
        print(json.dumps({"record": record.serialize(), "token": token.token}))
    elif mode == "silent":
        with open(sys.argv[7]) as f:
            record = AuthenticationRecord.deserialize(f.read())
        # azure-identity signs in at the record's authority: the host and, as here, a port that
        # is not the default. The cache entries are keyed by the host name alone, as MSAL keys
        # them.
        del common["authority"]
        credential = DeviceCodeCredential(
            authentication_record=record, disable_automatic_authentication=True, **common)
        print(json.dumps({"token": credential.get_token(scope).token}))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
