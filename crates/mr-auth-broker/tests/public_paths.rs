//! Every public item a user of `mr-auth-broker` imports, by the path they import it from, and
//! the public fields and error kinds they name. This file compiles only while each path
//! resolves: a rename or a move of the public API shows here, in its diff, on purpose.
//!
//! Each item is `use`d once and touched once below, so an import that no longer names anything
//! cannot hide behind `unused_imports`.

#[cfg(feature = "test-util")]
use mr_auth_broker::test_util::{
    credential_with_hooks, device_code_credential_with_hooks,
    shared_token_cache_credential_with_hooks, TestHooks,
};
use mr_auth_broker::{
    default_platform_broker, AccessTokenInfo, AdditionallyAllowedTenants, AuthenticationRecord,
    AuthorityHost, AuthorizeUrlCallback, AuthorizeUrlHandler, BrokerAccount, BrokerMode,
    BrokerRequest, BrokerToken, BrokerTokenRequestOptions, CacheWrite, CachedAccessToken,
    CachedAccount, ClientId, DeviceCodeCredential, DeviceCodeCredentialOptions, DeviceCodePrompt,
    DeviceCodePromptCallback, DeviceCodePromptFn, EnvironmentSource, Error, ErrorKind, Headless,
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions, LinuxBroker,
    LinuxBrokerOptions, MsalTokenCache, ParentWindowHandle, PersistentTokenCache, PlatformBroker,
    PopAuthorizationPolicy, PopMethod, PopParameters, ProcessEnvironment, RedirectUri, Result,
    SharedTokenCacheCredential, SharedTokenCacheCredentialOptions, TenantId,
    TokenCachePersistenceOptions, TokenType, AUTHENTICATION_RECORD_VERSION, DEFAULT_CACHE_NAME,
    DEFAULT_INTERACTIVE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, MAX_CACHE_BYTES,
};
#[cfg(feature = "test-util")]
use mr_auth_core::EnvironmentMap;
use std::{any::type_name, sync::Arc, time::Duration};

#[test]
fn every_public_type_and_trait_is_at_the_crate_root() {
    let names = [
        type_name::<AccessTokenInfo>(),
        type_name::<AdditionallyAllowedTenants>(),
        type_name::<AuthenticationRecord>(),
        type_name::<AuthorityHost>(),
        type_name::<Box<AuthorizeUrlCallback>>(),
        type_name::<AuthorizeUrlHandler>(),
        type_name::<BrokerAccount>(),
        type_name::<BrokerMode>(),
        type_name::<BrokerRequest>(),
        type_name::<BrokerToken>(),
        type_name::<BrokerTokenRequestOptions>(),
        type_name::<CacheWrite>(),
        type_name::<CachedAccessToken>(),
        type_name::<CachedAccount>(),
        type_name::<ClientId>(),
        type_name::<DeviceCodeCredential>(),
        type_name::<DeviceCodeCredentialOptions>(),
        type_name::<DeviceCodePrompt>(),
        type_name::<DeviceCodePromptCallback>(),
        type_name::<Box<DeviceCodePromptFn>>(),
        type_name::<dyn EnvironmentSource>(),
        type_name::<Error>(),
        type_name::<ErrorKind>(),
        type_name::<Headless>(),
        type_name::<InteractiveBrowserBrokerCredential>(),
        type_name::<InteractiveBrowserBrokerCredentialOptions>(),
        type_name::<LinuxBroker>(),
        type_name::<MsalTokenCache>(),
        type_name::<ParentWindowHandle>(),
        type_name::<PersistentTokenCache>(),
        type_name::<dyn PlatformBroker>(),
        type_name::<PopAuthorizationPolicy>(),
        type_name::<PopMethod>(),
        type_name::<PopParameters>(),
        type_name::<ProcessEnvironment>(),
        type_name::<RedirectUri>(),
        type_name::<Result<()>>(),
        type_name::<SharedTokenCacheCredential>(),
        type_name::<SharedTokenCacheCredentialOptions>(),
        type_name::<TenantId>(),
        type_name::<TokenCachePersistenceOptions>(),
        type_name::<TokenType>(),
    ];
    for name in names {
        assert!(name.contains("mr_auth"), "{name}");
    }
    // On every platform: elsewhere than Linux it reports itself unavailable at run time.
    let options = LinuxBrokerOptions {
        bus_address: None,
        connect_timeout: Duration::from_secs(5),
        call_timeout: Duration::from_secs(60),
    };
    assert_eq!(
        options.call_timeout,
        LinuxBrokerOptions::default().call_timeout
    );
}

/// The test hooks (feature `test-util`, on for this crate's own tests): a clock and an
/// environment injected, off the options every user reads.
#[cfg(feature = "test-util")]
#[test]
fn the_test_util_hooks() {
    let hooks = TestHooks {
        clock: Arc::new(mr_auth_core::ManualClock::at_fixed_start()),
        environment: Arc::new(EnvironmentMap::from_iter([(
            "AZURE_AUTHORITY_HOST",
            "https://login.example.com",
        )])),
    };
    let credential = credential_with_hooks(None, hooks.clone()).unwrap();
    assert!(format!("{credential:?}").contains("https://login.example.com"));
    let shared = shared_token_cache_credential_with_hooks(None, hooks.clone()).unwrap();
    assert!(format!("{shared:?}").contains("https://login.example.com"));
    let prompt = DeviceCodePromptCallback::new(|_| Ok(()));
    let device = device_code_credential_with_hooks(prompt, None, hooks).unwrap();
    assert!(format!("{device:?}").contains("https://login.example.com"));
    assert!(format!("{:?}", TestHooks::default()).contains("SystemClock"));
}

#[test]
fn the_public_functions_and_constants() {
    let _: fn() -> Option<Arc<dyn PlatformBroker>> = default_platform_broker;
    assert_eq!(AUTHENTICATION_RECORD_VERSION, "1.0");
    assert_eq!(DEFAULT_CACHE_NAME, "msal.cache");
    assert_eq!(DEFAULT_INTERACTIVE_TIMEOUT, Duration::from_secs(300));
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(60));
    assert_eq!(MAX_CACHE_BYTES, 16 * 1024 * 1024);
}

/// The options a user sets, every field by name.
#[test]
fn the_credential_options_by_field() {
    let options = InteractiveBrowserBrokerCredentialOptions {
        client_id: ClientId::default(),
        tenant_id: TenantId::default(),
        authority: None,
        parent_window_handle: None,
        use_default_broker_account: false,
        enable_msa_passthrough: false,
        disable_automatic_authentication: false,
        login_hint: None,
        redirect_uri: None,
        timeout: DEFAULT_INTERACTIVE_TIMEOUT,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
        additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
        disable_instance_discovery: false,
        authorize_url_handler: AuthorizeUrlHandler::SystemBrowser,
        broker: BrokerMode::Platform,
        client_options: Default::default(),
        cache_persistence_options: Some(TokenCachePersistenceOptions {
            name: DEFAULT_CACHE_NAME.to_owned(),
            allow_unencrypted_storage: false,
        }),
        authentication_record: None,
        device_code_fallback: Some(DeviceCodePromptCallback::new(|prompt| {
            let DeviceCodePrompt {
                verification_uri,
                user_code,
                expires_on,
                message,
                ..
            } = prompt;
            let _ = (verification_uri, user_code, expires_on, message);
            Ok(())
        })),
    };
    assert!(format!("{options:?}").contains("InteractiveBrowserBrokerCredentialOptions"));
    let device = DeviceCodeCredentialOptions {
        client_id: ClientId::default(),
        tenant_id: TenantId::default(),
        authority: None,
        disable_automatic_authentication: false,
        timeout: Some(Duration::from_secs(900)),
        additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
        request_timeout: Duration::from_secs(30),
        client_options: Default::default(),
        cache_persistence_options: None,
        authentication_record: None,
    };
    let credential =
        DeviceCodeCredential::new(DeviceCodePromptCallback::new(|_| Ok(())), Some(device));
    assert!(credential.is_ok());
    let headless = [Headless::NoDisplay, Headless::SshSession];
    assert_eq!(Headless::detect(&[("BROWSER", "w3m")]), None);
    assert_eq!(headless.len(), 2);
    let request = BrokerTokenRequestOptions {
        claims: None,
        enable_cae: false,
        tenant_id: None,
        pop: None,
    };
    assert_eq!(request, BrokerTokenRequestOptions::default());
    let modes = [
        BrokerMode::Platform,
        BrokerMode::BrowserOnly,
        BrokerMode::Custom(Arc::new(NoBroker)),
    ];
    assert_eq!(modes.len(), 3);
    let handler = AuthorizeUrlHandler::callback(|_| Ok(()));
    assert!(matches!(handler, AuthorizeUrlHandler::Callback(_)));
    handler
        .open(&"https://login.example.com/authorize".parse().unwrap())
        .unwrap();
}

/// The shared token cache credential's options, every field by name.
#[test]
fn the_shared_token_cache_options_by_field() {
    let options = SharedTokenCacheCredentialOptions {
        client_id: ClientId::default(),
        tenant_id: None,
        authority: None,
        username: Some("someone@contoso.com".into()),
        authentication_record: None,
        cache_persistence_options: None,
        additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
        client_options: Default::default(),
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
    };
    assert!(format!("{options:?}").contains("SharedTokenCacheCredentialOptions"));
    let credential = SharedTokenCacheCredential::new(Some(options)).unwrap();
    // Its methods: the typed call, the silent sign-in, the accounts.
    let _ = || async move {
        let _ = credential.get_token_info(&["s"], None).await;
        let _ = credential.authenticate(&["s"], None).await;
        let _ = credential.accounts().await;
        let _ = credential.matching_accounts().await;
    };
}

/// The error kinds a user matches on, every one by name.
#[test]
fn the_error_kinds_by_name() {
    let kinds = [
        ErrorKind::InvalidInput,
        ErrorKind::UnsupportedAuthority,
        ErrorKind::TenantNotAllowed,
        ErrorKind::AuthenticationRequired,
        ErrorKind::UserCancelled,
        ErrorKind::BrokerUnavailable,
        ErrorKind::PopNeedsBroker,
        ErrorKind::RedirectUriNotRegistered,
        ErrorKind::Timeout,
        ErrorKind::LoopbackUnavailable,
        ErrorKind::AuthenticationFailed,
        ErrorKind::Throttled,
        ErrorKind::ServiceError,
        ErrorKind::Transport,
        ErrorKind::Protocol,
        ErrorKind::Internal,
        ErrorKind::PersistentCache,
        ErrorKind::DeviceCodeExpired,
        ErrorKind::BadVerificationCode,
    ];
    for kind in kinds {
        assert_eq!(Error::new(kind, "m").kind(), kind);
    }
    assert_eq!(Error::new(ErrorKind::Protocol, "m").oauth_error(), None);
}

/// What a platform broker implementation sees: the trait's methods and the request's fields.
#[derive(Debug)]
struct NoBroker;

#[async_trait::async_trait]
impl PlatformBroker for NoBroker {
    fn supports_pop(&self) -> bool {
        false
    }
    fn redirect_uri(&self, client_id: &ClientId) -> String {
        format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}")
    }
    async fn acquire_token_silently(
        &self,
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> Result<BrokerToken> {
        let _ = (&account.id, &account.username);
        Err(unavailable(request))
    }
    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken> {
        Err(unavailable(request))
    }
    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        let _ = parent_window.map(ParentWindowHandle::as_raw);
        Err(unavailable(request))
    }
}

fn unavailable(request: &BrokerRequest) -> Error {
    let BrokerRequest {
        client_id,
        tenant_id,
        authority,
        scopes,
        redirect_uri,
        claims,
        pop,
        login_hint,
        enable_msa_passthrough,
        validate_authority,
        ..
    } = request;
    let _ = (
        client_id,
        tenant_id,
        authority,
        scopes,
        redirect_uri,
        claims,
        pop,
        login_hint,
        enable_msa_passthrough,
        validate_authority,
    );
    Error::new(ErrorKind::BrokerUnavailable, "no broker in this test")
}

#[test]
fn a_broker_token_by_field() {
    let token = BrokerToken {
        token: AccessTokenInfo {
            token: azure_core::credentials::Secret::new("t"),
            expires_on: time::OffsetDateTime::UNIX_EPOCH,
            token_type: TokenType::Bearer,
            refresh_on: None,
        },
        account: Some(BrokerAccount {
            id: "a".into(),
            username: None,
        }),
    };
    assert_eq!(token.account.map(|a| a.id), Some("a".to_owned()));
    // A broker that cannot find accounts by home account id keeps the default: none.
    assert_eq!(NoBroker.account_for_home_account_id("o.t", None), None);
    assert_eq!(
        NoBroker.redirect_uri(&ClientId::default()),
        format!(
            "ms-appx-web://Microsoft.AAD.BrokerPlugin/{}",
            ClientId::DEVELOPER_SIGN_ON
        )
    );
}
