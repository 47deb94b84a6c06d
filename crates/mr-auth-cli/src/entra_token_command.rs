use crate::{
    cache_args::CacheArgs,
    cli_error::CliError,
    config_dir::ConfigDir,
    saved_sign_in::SavedSignIn,
    shared_cache::SharedCache,
    sign_in::{
        authority_host, client_id, credential_options, RequestTimeoutArgs, SignInMode,
        CLIENT_ID_ENV,
    },
};
use clap::{Args, ValueEnum};
use mr_auth_broker::{
    AccessTokenInfo, AdditionallyAllowedTenants, BrokerTokenRequestOptions, ErrorKind,
    InteractiveBrowserBrokerCredential, TenantId,
};
use mr_auth_msal_cache::PersistentTokenCache;
use serde_json::json;

/// Arguments of `mr-auth entra-token`.
#[derive(Debug, Args)]
pub(crate) struct EntraTokenArgs {
    /// The scope to get a token for, e.g. `https://storage.azure.com/.default` (repeatable).
    #[arg(long, required = true, value_name = "SCOPE")]
    scope: Vec<String>,
    /// The tenant to get the token from [default: the signed-in account's].
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = EntraTokenOutput::Json)]
    output: EntraTokenOutput,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    request_timeout: RequestTimeoutArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EntraTokenOutput {
    /// As `az account get-access-token`: {"accessToken", "expiresOn" (local time),
    /// "expires_on" (unix seconds), "tenant", "tokenType"}.
    Json,
    /// The token alone, for scripts.
    Token,
}

/// Prints an access token for the signed-in account, silently: from the persistent cache
/// while it holds a valid token (no network), else through the stored refresh token (or the
/// broker's sign-in). Never interactive: when that is not enough, the user is told to run
/// `mr-auth login`, and which sign-ins of other apps it could adopt.
pub(crate) async fn run(args: EntraTokenArgs) -> Result<(), CliError> {
    let dir = ConfigDir::from_env()?;
    let Some(saved) = SavedSignIn::load(&dir)? else {
        let cache = SharedCache {
            client_id: client_id(std::env::var(CLIENT_ID_ENV).ok().as_deref())?,
            authority_host: authority_host(None)?,
            persistence: args.cache.persistence(None),
            request_timeout: args.request_timeout.duration(),
        };
        let hint = cache.adoption_hint(None).await.unwrap_or_default();
        return Err(CliError::not_signed_in(format!(
            "not signed in; run `mr-auth login` first{hint}"
        )));
    };
    let request_tenant = args
        .tenant
        .as_deref()
        .map(TenantId::new)
        .transpose()
        .map_err(|e| CliError::bad_input(format!("--tenant: {e}")))?;
    let persistence = args.cache.persistence(Some((
        &saved.settings.cache_name,
        saved.settings.allow_unencrypted_storage,
    )));
    let authority = authority_host(Some(&saved.settings.authority_host))?;
    let shared_cache = SharedCache {
        client_id: saved.record.client_id().clone(),
        authority_host: authority.clone(),
        persistence: persistence.clone(),
        request_timeout: args.request_timeout.duration(),
    };
    let mode = if saved.settings.broker {
        SignInMode::Broker
    } else {
        SignInMode::Browser
    };
    let mut options = credential_options(
        mode,
        &saved.settings.tenant,
        saved.record.client_id().clone(),
        authority,
        Some(saved.record.clone()),
        Some(persistence.clone()),
        args.request_timeout,
    )?;
    options.disable_automatic_authentication = true;
    if let Some(tenant) = &request_tenant {
        options.additionally_allowed_tenants =
            AdditionallyAllowedTenants::Listed(vec![tenant.clone()]);
    }
    let credential = InteractiveBrowserBrokerCredential::new(Some(options))?;
    let scopes: Vec<&str> = args.scope.iter().map(String::as_str).collect();
    let request = BrokerTokenRequestOptions {
        tenant_id: request_tenant.clone(),
        ..Default::default()
    };
    let token = match credential.get_token_info(&scopes, Some(request)).await {
        Ok(token) => token,
        Err(e) if e.kind() == ErrorKind::AuthenticationRequired => {
            tracing::debug!(error = %e, "no silent token");
            if mode == SignInMode::Browser {
                // The credential goes on without a cache it cannot open or read, which ends
                // here; say what is wrong with the cache instead (a named pipe, a corrupt
                // document, a directory of another user). Only now: a warm run reads the cache
                // once. Reading takes no lock.
                PersistentTokenCache::open(&persistence, false)
                    .await?
                    .load()
                    .await?;
            }
            let others = shared_cache
                .adoption_hint(Some(saved.record.home_account_id()))
                .await
                .unwrap_or_default();
            return Err(CliError::not_signed_in(format!(
                "no token for {} can be had without signing in again; run `mr-auth login`{others}",
                args.scope.join(" ")
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let tenant = request_tenant
        .as_ref()
        .unwrap_or(saved.record.tenant_id())
        .as_str();
    match args.output {
        EntraTokenOutput::Token => println!("{}", token.token.secret()),
        EntraTokenOutput::Json => println!(
            "{}",
            az_json(&token, tenant, &jiff::tz::TimeZone::system())?
        ),
    }
    Ok(())
}

/// The token as `az account get-access-token` prints it, with `expiresOn` in `zone`.
fn az_json(
    token: &AccessTokenInfo,
    tenant: &str,
    zone: &jiff::tz::TimeZone,
) -> Result<serde_json::Value, CliError> {
    let unix = token.expires_on.unix_timestamp();
    let local = jiff::Timestamp::from_second(unix)
        .map_err(|e| CliError::other(format!("the token's expiry {unix} is out of range: {e}")))?
        .to_zoned(zone.clone());
    Ok(json!({
        "accessToken": token.token.secret(),
        "expiresOn": local.strftime("%Y-%m-%d %H:%M:%S.%6f").to_string(),
        "expires_on": unix,
        "tenant": tenant,
        "tokenType": token.token_type.scheme(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::Secret;
    use mr_auth_broker::TokenType;
    use time::OffsetDateTime;

    #[test]
    fn json_is_shaped_like_az_account_get_access_token() {
        let token = AccessTokenInfo {
            token: Secret::new("tok"),
            // 2026-12-01 17:06:09 UTC
            expires_on: OffsetDateTime::from_unix_timestamp(1_796_144_769).unwrap(),
            token_type: TokenType::Bearer,
            refresh_on: None,
        };
        let utc = az_json(&token, "t1", &jiff::tz::TimeZone::UTC).unwrap();
        assert_eq!(
            utc,
            json!({
                "accessToken": "tok",
                "expiresOn": "2026-12-01 17:06:09.000000",
                "expires_on": 1_796_144_769,
                "tenant": "t1",
                "tokenType": "Bearer",
            })
        );
        // Local time as the zone's rules say (a POSIX TZ rule: no zoneinfo files needed).
        let india = jiff::tz::TimeZone::posix("IST-5:30").unwrap();
        assert_eq!(
            az_json(&token, "t1", &india).unwrap()["expiresOn"],
            "2026-12-01 22:36:09.000000"
        );
        let new_york = jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(
            az_json(&token, "t1", &new_york).unwrap()["expiresOn"],
            "2026-12-01 12:06:09.000000"
        );
    }
}
