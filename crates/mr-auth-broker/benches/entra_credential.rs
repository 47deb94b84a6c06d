//! The Entra credentials next to `azure_identity`'s `ClientSecretCredential`,
//! in one criterion run, all against the test-support mock authority behind a loopback TLS
//! front (azure_identity refuses a plain-HTTP authority), all trusting only the front's CA
//! through the same `reqwest` client.
//!
//! ```text
//! cargo bench -p mr-auth-broker --bench entra_credential
//! ```
//!
//! - `entra_cache_hit`: a valid token in the credential's memory, through
//!   `dyn TokenCredential`: `InteractiveBrowserBrokerCredential` (its token from a scripted
//!   browser sign-in at the mock), `DeviceCodeCredential` (from a device code sign-in the mock
//!   approves at its first poll), `SharedTokenCacheCredential` (from a plaintext persistent
//!   cache seeded with the browser credential's token) and azure_identity's
//!   `ClientSecretCredential` (from the client credentials grant); all four hold the same kind
//!   of v1 JWT. Polled directly, without a runtime (a hit never waits). Wall time per call.
//! - `entra_cache_hit_floor`: what any hit pays on this machine: a clock read, and the copy of
//!   the token an owned `AccessToken` needs.
//! - `entra_cache_hit_threads`: per-call wall time on each of 1 and 2 threads calling at once;
//!   2 threads' calls per second over 1 thread's is `2 * t(1) / t(2)`.
//! - `entra_cache_hit_paired` and `entra_cache_hit_threads_paired` (not criterion functions):
//!   the same hits in 40 alternating rounds of 20,000 calls, each of ours against
//!   azure_identity's, and each credential's two threads against its one thread; the medians of
//!   the per-round ratios are what `cargo xtask bench` judges the hit targets on.
//! - `entra_refresh_grant_tls_client_cpu`: the refresh grant over TLS (kept-alive connection),
//!   **client CPU time** per call (the bench thread's; the mock and the TLS front run on another
//!   thread): a bare `reqwest` POST of the same form, against the credential's `get_token` for a
//!   scope it has no token for, so every call is a cache miss answered by the refresh token of
//!   the sign-in; between them, the floor of any `azure_core`-based client: the same form
//!   through a bare `azure_core` `Pipeline` of the same `reqwest` client (azure_core's default
//!   policies, no retry policy, as the credential's pipeline), alone and followed by what any
//!   OAuth client does with the answer (the response, its id token's claims and client info
//!   parsed into typed values with serde), and that again within a tokio timeout (the floor
//!   of a bounded call: one timer per call); and the token endpoint's refresh grant alone
//!   (`test_util::RefreshGrant`: the credentials' own form, tries, parsing and checks, without
//!   a credential around it). The credential's figure also holds the request resolution and
//!   cache key, the token cache's miss, reading the account from the id token and client info,
//!   storing the token and the refresh token (the cache holds 64 keys, so from the 65th call on
//!   a store also evicts the least recently used key) and remembering it for the hit path.
//! - `entra_refresh_grant_tls_paired` (after that group, outside criterion): the same six
//!   side by side, 40 rounds of 250 calls of each in rotating order, each one's client CPU per
//!   call divided by the bare POST's of the same round; the medians of those ratios (with
//!   quartiles) are printed, and written to `<CRITERION_HOME>/entra_refresh_grant_tls_paired.json`
//!   for `cargo xtask bench`. On a shared machine whose speed drifts they are far steadier
//!   than the ratio of two criterion figures measured minutes apart. Two more variants run in
//!   the same rounds as a reference from the Azure SDK itself: azure_identity's
//!   `ClientSecretCredential` on a cache miss (a scope it has no token for; its client
//!   credentials grant, whose answer has no refresh token, id token or client info to read),
//!   and a bare `reqwest` POST of that grant's form (its own floor). azure_identity's token
//!   cache is an unbounded map, so it ends the run holding one token per call made.
//! - `entra_refresh_grant_tls_instructions` (last, outside criterion; needs valgrind): the
//!   same eight counted in instructions, 200 calls of each after 20 warm-up calls, each in a
//!   child process of this binary under callgrind that makes only those calls
//!   (`mr_auth_test_support::instruction_counts`); printed with their ratios to the bare
//!   POST, and written to `<CRITERION_HOME>/entra_refresh_grant_tls_instructions.json`. The
//!   same for the same binary whatever the machine's load; not time (TLS's AES-GCM is few
//!   instructions per byte, JSON parsing many), so they complement the CPU figures.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[cfg(not(windows))]
mod entra {
    use azure_core::{
        cloud::{CloudConfiguration, CustomConfiguration},
        credentials::{AccessToken, Secret, TokenCredential},
        http::{
            headers::{self, content_type},
            ClientOptions, Context, Method, Pipeline, PipelineStreamOptions, Request, RetryOptions,
            Transport,
        },
    };
    use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
    use criterion::Criterion;
    use mr_auth_broker::{
        test_util::{shared_token_cache_credential_with_hooks, RefreshGrant, TestHooks},
        AuthorityHost, BrokerMode, CacheWrite, DeviceCodeCredential, DeviceCodeCredentialOptions,
        DeviceCodePromptCallback, InteractiveBrowserBrokerCredential,
        InteractiveBrowserBrokerCredentialOptions, SharedTokenCacheCredentialOptions,
        TokenCachePersistenceOptions,
    };
    use mr_auth_core::{Clock as _, SystemClock};
    use mr_auth_msal_cache::AccessTokenSecret;
    use mr_auth_test_support::{
        bench::{
            cpu_of, on_threads, paired_rounds, ready, report_paired, selected_by_command_line,
            wall_of, Variant,
        },
        chromium::{handler, ScriptedBrowser},
        instruction_counts,
        mock_authority::{
            AuthorizeMode, DevicePoll, MockAccount, MockAuthority, V1AccessTokens, CLIENT_ID,
            CLIENT_SECRET, DEVICE_CODE_GRANT, TENANT,
        },
        TempHome, TlsFront,
    };
    use std::{
        hint::black_box,
        net::{Ipv4Addr, SocketAddr},
        sync::{
            atomic::{AtomicU64, Ordering},
            Arc,
        },
        time::Duration,
    };
    use url::Url;

    const SCOPE: &str = "https://storage.azure.com/.default";

    /// A scope the credential has no token for: `https://bench-<n>.example/.default`.
    fn fresh_scope(counter: &AtomicU64) -> String {
        format!(
            "https://bench-{:08}.example/.default",
            counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The mock authority (kept-alive connections, v1 JWT access tokens, refresh tokens that
    /// stay valid after use) behind a TLS front, on a runtime thread of its own.
    struct Authority {
        mock: Arc<MockAuthority>,
        front: TlsFront,
        _runtime: tokio::runtime::Runtime,
    }

    impl Authority {
        fn start() -> Self {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let (mock, front) = runtime.block_on(async {
                let mock = Arc::new(MockAuthority::start_keep_alive(AuthorizeMode::AutoPost).await);
                mock.issue_v1_access_tokens(V1AccessTokens::default());
                mock.keep_refresh_tokens();
                let front =
                    TlsFront::start(SocketAddr::from((Ipv4Addr::LOCALHOST, mock.port))).await;
                mock.set_public_url(front.url());
                (mock, front)
            });
            Self {
                mock,
                front,
                _runtime: runtime,
            }
        }

        fn token_url(&self) -> String {
            format!("{}/{TENANT}/oauth2/v2.0/token", self.front.url())
        }

        /// A refresh token the mock issued (they all stay valid).
        fn refresh_token(&self) -> String {
            self.mock
                .log(|log| {
                    log.issued_secrets
                        .iter()
                        .find(|s| s.starts_with("refresh-token-"))
                        .cloned()
                })
                .expect("the sign-in brought a refresh token")
        }
    }

    fn options(authority: &Authority, client: &reqwest::Client) -> ClientOptions {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = authority.front.url().to_owned();
        ClientOptions {
            transport: Some(Transport::new(Arc::new(client.clone()))),
            cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
            ..ClientOptions::default()
        }
    }

    pub(crate) fn benches(c: &mut Criterion) {
        // One thread for the clients (as in mr-auth-credentials' bench): the measured future,
        // hyper's connection task and the credential's fetch task all run on the bench thread.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let authority = Authority::start();
        let client = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(authority.front.ca_pem().as_bytes()).unwrap(),
            )
            .build()
            .unwrap();

        let ours = InteractiveBrowserBrokerCredential::new(Some(
            InteractiveBrowserBrokerCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: TENANT.parse().unwrap(),
                authority: Some(AuthorityHost::new(authority.front.url()).unwrap()),
                broker: BrokerMode::BrowserOnly,
                authorize_url_handler: handler(Arc::new(ScriptedBrowser::new(
                    authority.mock.clone(),
                ))),
                client_options: options(&authority, &client),
                ..Default::default()
            },
        ))
        .unwrap();
        // A child of `instruction_counts` (below) needs only the refresh grant's variants.
        if instruction_counts::counting().is_some() {
            let ours_dyn: Arc<dyn TokenCredential> = ours;
            runtime
                .block_on(ours_dyn.get_token(&[SCOPE], None))
                .unwrap();
            refresh_grant(c, &runtime, &authority, &client, &ours_dyn);
            return;
        }
        // The device code sign-in: the mock approves at the first poll, a second after the code.
        authority.mock.set_device_code_timing(900, Some(1));
        authority.mock.script_device_polls([DevicePoll::Success]);
        let device = DeviceCodeCredential::new(
            DeviceCodePromptCallback::new(|_| Ok(())),
            Some(DeviceCodeCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: TENANT.parse().unwrap(),
                authority: Some(AuthorityHost::new(authority.front.url()).unwrap()),
                client_options: options(&authority, &client),
                ..Default::default()
            }),
        )
        .unwrap();
        let theirs = ClientSecretCredential::new(
            TENANT,
            CLIENT_ID.to_owned(),
            Secret::new(CLIENT_SECRET),
            Some(ClientSecretCredentialOptions {
                client_options: options(&authority, &client),
            }),
        )
        .unwrap();
        let ours_dyn: Arc<dyn TokenCredential> = ours.clone();
        let device_dyn: Arc<dyn TokenCredential> = device;
        let theirs_dyn: Arc<dyn TokenCredential> = theirs;
        let tokens: Vec<AccessToken> = runtime.block_on(async {
            let mut tokens = Vec::new();
            for credential in [&ours_dyn, &device_dyn, &theirs_dyn] {
                tokens.push(credential.get_token(&[SCOPE], None).await.unwrap());
            }
            tokens
        });
        let grants = authority.mock.log(|log| log.token_requests.clone());
        assert_eq!(
            grants
                .iter()
                .map(|(g, ok)| (g.as_str(), *ok))
                .collect::<Vec<_>>(),
            [
                ("authorization_code", true),
                (DEVICE_CODE_GRANT, true),
                ("client_credentials", true)
            ],
            "one sign-in of each kind and one client credentials grant fill the three caches"
        );
        let sizes: Vec<usize> = tokens.iter().map(|t| t.token.secret().len()).collect();
        println!(
            "token sizes: browser {}, device code {}, azure_identity {} bytes",
            sizes[0], sizes[1], sizes[2]
        );
        let (shared_dyn, _home) = runtime.block_on(shared_cache(&authority, &client, &tokens[0]));

        let credentials = [
            ("InteractiveBrowserBrokerCredential", &ours_dyn),
            ("DeviceCodeCredential", &device_dyn),
            ("SharedTokenCacheCredential", &shared_dyn),
            ("azure_identity_ClientSecretCredential", &theirs_dyn),
        ];
        cache_hits(c, &credentials, &tokens[0]);
        refresh_grant(c, &runtime, &authority, &client, &ours_dyn);
    }

    /// A `SharedTokenCacheCredential` on a plaintext cache in a home of its own, which holds an
    /// account's sign-in with `token` (the browser credential's, so all hold the same kind of
    /// token) as its access token; its first call reads it from the file, later ones are hits.
    async fn shared_cache(
        authority: &Authority,
        client: &reqwest::Client,
        token: &AccessToken,
    ) -> (Arc<dyn TokenCredential>, TempHome) {
        let home = TempHome::new();
        let account = MockAccount::new("a", "ta", "alice@contoso.com");
        let host = Url::parse(authority.front.url()).unwrap();
        home.seed(&[CacheWrite {
            scopes: vec![SCOPE.to_owned()],
            access_token: Some(AccessTokenSecret::new(token.token.secret().to_owned())),
            expires_in: 3600,
            now: Some(SystemClock.now()),
            ..account.sign_in(CLIENT_ID, host.host_str().unwrap(), "rt-of-a")
        }])
        .await;
        let credential = shared_token_cache_credential_with_hooks(
            Some(SharedTokenCacheCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: Some(TENANT.parse().unwrap()),
                authority: Some(AuthorityHost::new(authority.front.url()).unwrap()),
                cache_persistence_options: Some(TokenCachePersistenceOptions {
                    allow_unencrypted_storage: true,
                    ..Default::default()
                }),
                client_options: options(authority, client),
                ..Default::default()
            }),
            TestHooks {
                environment: Arc::new(home.environment()),
                ..TestHooks::default()
            },
        )
        .unwrap();
        let first = credential.get_token(&[SCOPE], None).await.unwrap();
        assert_eq!(first.token.secret(), token.token.secret());
        (credential, home)
    }

    fn cache_hits(
        c: &mut Criterion,
        credentials: &[(&str, &Arc<dyn TokenCredential>)],
        token: &AccessToken,
    ) {
        let mut group = c.benchmark_group("entra_cache_hit");
        for (name, credential) in credentials {
            group.bench_function(*name, |b| {
                b.iter(|| {
                    black_box(ready(credential.get_token(black_box(&[SCOPE]), None)).unwrap())
                })
            });
        }
        group.finish();

        let mut group = c.benchmark_group("entra_cache_hit_floor");
        group.bench_function("SystemClock::coarse_unix_nanos", |b| {
            b.iter(|| black_box(SystemClock.coarse_unix_nanos()))
        });
        group.bench_function("SystemClock::unix_nanos", |b| {
            b.iter(|| black_box(SystemClock.unix_nanos()))
        });
        group.bench_function("SystemClock::now", |b| {
            b.iter(|| black_box(SystemClock.now()))
        });
        group.bench_function("AccessToken::clone", |b| {
            b.iter(|| black_box(AccessToken::clone(black_box(token))))
        });
        group.finish();

        let mut group = c.benchmark_group("entra_cache_hit_threads");
        for threads in [1usize, 2] {
            for (name, credential) in credentials {
                group.bench_function(format!("{name}/{threads}_threads"), |b| {
                    b.iter_custom(|iters| {
                        on_threads(threads, iters, credential, |credential| {
                            ready(credential.get_token(&[SCOPE], None)).unwrap()
                        })
                    })
                });
            }
        }
        group.finish();

        // The same hits in paired rounds: each credential against azure_identity's, and each
        // on two threads against one, alternating, so that a ratio is taken on one machine
        // state rather than from two criterion figures a minute apart.
        if selected_by_command_line(HITS_PAIRED) {
            let (theirs_name, theirs) = credentials
                .iter()
                .find(|(name, _)| *name == THEIRS)
                .expect("azure_identity's credential is measured");
            let hits = |credential: &Arc<dyn TokenCredential>| {
                let credential = Arc::clone(credential);
                move |calls: u64| {
                    wall_of(calls, || {
                        ready(credential.get_token(black_box(&[SCOPE]), None)).unwrap()
                    })
                }
            };
            let mut theirs_hits = hits(theirs);
            let mut ours_hits: Vec<_> = credentials
                .iter()
                .filter(|(name, _)| *name != THEIRS)
                .map(|(name, credential)| (*name, hits(credential)))
                .collect();
            let mut variants: Vec<Variant<'_>> = vec![(theirs_name, &mut theirs_hits)];
            variants.extend(
                ours_hits
                    .iter_mut()
                    .map(|(name, hits)| (*name, hits as &mut dyn FnMut(u64) -> Duration)),
            );
            let figures = paired_rounds(HIT_ROUNDS, HIT_CALLS, &mut variants);
            print!(
                "{}",
                report_paired(HITS_PAIRED, "wall time", HIT_ROUNDS, HIT_CALLS, &figures)
            );

            // Per credential: two threads' per-call time over one thread's (the scaling is
            // 2 divided by it), the variant named `<credential>/2_threads`.
            let mut scaling = Vec::new();
            for (name, credential) in credentials {
                let on = |threads: usize| {
                    let credential = Arc::clone(credential);
                    move |calls: u64| {
                        on_threads(threads, calls, &credential, |credential| {
                            ready(credential.get_token(&[SCOPE], None)).unwrap()
                        })
                    }
                };
                let (mut one, mut two) = (on(1), on(2));
                let (one_name, two_name) =
                    (format!("{name}/1_threads"), format!("{name}/2_threads"));
                let figures = paired_rounds(
                    HIT_ROUNDS,
                    HIT_CALLS,
                    &mut [(&one_name, &mut one), (&two_name, &mut two)],
                );
                scaling.extend(figures.into_iter().skip(1));
            }
            print!(
                "{}",
                report_paired(
                    THREADS_PAIRED,
                    "wall time on each thread, each against its credential's one thread",
                    HIT_ROUNDS,
                    HIT_CALLS,
                    &scaling,
                )
            );
        }
    }

    /// azure_identity's credential, the reference of the hits.
    const THEIRS: &str = "azure_identity_ClientSecretCredential";
    /// The hits' paired measurements (not criterion functions: their figures are ratios per
    /// round), and their rounds and calls per variant and round.
    const HITS_PAIRED: &str = "entra_cache_hit_paired";
    const THREADS_PAIRED: &str = "entra_cache_hit_threads_paired";
    const HIT_ROUNDS: usize = 40;
    const HIT_CALLS: u64 = 20_000;

    fn refresh_grant(
        c: &mut Criterion,
        runtime: &tokio::runtime::Runtime,
        authority: &Authority,
        client: &reqwest::Client,
        ours: &Arc<dyn TokenCredential>,
    ) {
        let url = authority.token_url();
        let refresh_token = authority.refresh_token();
        let scopes = AtomicU64::new(0);
        let requests_before = authority.mock.log(|log| log.token_requests.len());
        // The form the credential posts, for a new scope: the scope and the OpenID scopes it
        // adds.
        let form = || {
            let scope = format!("{} offline_access openid profile", fresh_scope(&scopes));
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("client_id", CLIENT_ID),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.as_str()),
                    ("scope", scope.as_str()),
                    ("client_info", "1"),
                ])
                .finish()
        };
        // A bare reqwest POST of a form to the token endpoint, the whole answer read.
        let bare_post = |body: String| {
            let request = client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            async move {
                let response = request.send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap()
            }
        };
        let bare = || bare_post(form());
        // The floor of any azure_core-based client: the same form through a bare `azure_core`
        // pipeline of the same `reqwest` client, built once, with azure_core's default
        // policies (user agent, client request id, logging, instrumentation) and no retry
        // policy, as the credential's own pipeline has: the request sent as the credential
        // sends it (streamed, the status not checked by the pipeline), the whole body read.
        let pipeline = Pipeline::new(
            Some("mr-auth-broker"),
            Some(env!("CARGO_PKG_VERSION")),
            ClientOptions {
                retry: RetryOptions::none(),
                ..options(authority, client)
            },
            Vec::new(),
            Vec::new(),
            None,
        );
        let parsed_url = Url::parse(&url).unwrap();
        let post_through_pipeline = |body: String| {
            let mut request = Request::new(parsed_url.clone(), Method::Post);
            request.insert_header(
                headers::CONTENT_TYPE,
                content_type::APPLICATION_X_WWW_FORM_URLENCODED,
            );
            request.set_body(body.into_bytes());
            let pipeline = &pipeline;
            async move {
                let options = PipelineStreamOptions {
                    skip_checks: true,
                    ..Default::default()
                };
                let response = pipeline
                    .stream(&Context::new(), &mut request, Some(options))
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let (_, _, body) = response.deconstruct();
                body.collect().await.unwrap()
            }
        };
        let pipeline_post = || post_through_pipeline(form());
        // The floor with the answer read: the same pipeline POST, then what any OAuth client
        // does with a token response before it can use it: the response, its id token's
        // claims and its client info parsed into typed values (serde, owned strings), no
        // checks, no cache. What it costs over the POST alone is the protocol's, not ours.
        let post_and_parse = || {
            let post = post_through_pipeline(form());
            async move { read_answer(&post.await) }
        };
        // The floor of a bounded call: the same within a tokio timeout, as every call of a
        // client that must not hang is (one timer armed per call; the credentials' calls are
        // bounded as issue 21 asked).
        let post_and_parse_bounded = || {
            let post = post_through_pipeline(form());
            async move {
                let body = tokio::time::timeout(Duration::from_secs(60), post)
                    .await
                    .unwrap();
                read_answer(&body)
            }
        };
        // The protocol alone: the credentials' token endpoint, its tries and its reading of
        // the answer, no cache and no account.
        let grant = RefreshGrant::new(
            &AuthorityHost::new(authority.front.url()).unwrap(),
            &TENANT.parse().unwrap(),
            CLIENT_ID.parse().unwrap(),
            options(authority, client),
        );
        let endpoint = || {
            let scope = fresh_scope(&scopes);
            let (grant, refresh_token) = (&grant, refresh_token.as_str());
            async move {
                grant
                    .redeem(refresh_token, &[scope.as_str()])
                    .await
                    .unwrap()
            }
        };
        let credential = || {
            let scope = fresh_scope(&scopes);
            async move { ours.get_token(&[scope.as_str()], None).await.unwrap() }
        };
        // The reference from the Azure SDK: azure_identity's own credential on a miss, and the
        // bare POST of the client credentials grant it makes.
        let theirs = ClientSecretCredential::new(
            TENANT,
            CLIENT_ID.to_owned(),
            Secret::new(CLIENT_SECRET),
            Some(ClientSecretCredentialOptions {
                client_options: options(authority, client),
            }),
        )
        .unwrap();
        let theirs_miss = || {
            let scope = fresh_scope(&scopes);
            let theirs = &theirs;
            async move { theirs.get_token(&[scope.as_str()], None).await.unwrap() }
        };
        let bare_client_credentials = || {
            let scope = fresh_scope(&scopes);
            bare_post(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("client_id", CLIENT_ID),
                        ("client_secret", CLIENT_SECRET),
                        ("grant_type", "client_credentials"),
                        ("scope", scope.as_str()),
                    ])
                    .finish(),
            )
        };

        if let Some((variant, calls)) = instruction_counts::counting() {
            match variant.as_str() {
                BARE => instruction_counts::count(runtime, calls, bare),
                PIPELINE => {
                    instruction_counts::count(runtime, calls, pipeline_post);
                }
                READ => {
                    instruction_counts::count(runtime, calls, post_and_parse);
                }
                BOUNDED => {
                    instruction_counts::count(runtime, calls, post_and_parse_bounded);
                }
                ENDPOINT => {
                    instruction_counts::count(runtime, calls, endpoint);
                }
                CREDENTIAL => {
                    instruction_counts::count(runtime, calls, credential);
                }
                THEIR_BARE => {
                    instruction_counts::count(runtime, calls, bare_client_credentials);
                }
                THEIR_MISS => {
                    instruction_counts::count(runtime, calls, theirs_miss);
                }
                other => panic!("no variant {other} to count"),
            }
            return;
        }

        let mut group = c.benchmark_group("entra_refresh_grant_tls_client_cpu");
        group.measurement_time(Duration::from_secs(10));
        group.bench_function(BARE, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, bare));
        });
        group.bench_function(PIPELINE, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, pipeline_post));
        });
        group.bench_function(READ, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, post_and_parse));
        });
        group.bench_function(BOUNDED, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, post_and_parse_bounded));
        });
        group.bench_function(ENDPOINT, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, endpoint));
        });
        group.bench_function(CREDENTIAL, |b| {
            b.iter_custom(|iters| cpu_of(runtime, iters, credential));
        });
        group.finish();

        // The same six and azure_identity's two side by side in alternating rounds: the
        // steadiest ratios on a machine whose speed drifts during a run (see `paired_rounds`).
        if selected_by_command_line(PAIRED) {
            let mut v_bare = |calls| cpu_of(runtime, calls, bare);
            let mut v_pipeline = |calls| cpu_of(runtime, calls, pipeline_post);
            let mut v_read = |calls| cpu_of(runtime, calls, post_and_parse);
            let mut v_bounded = |calls| cpu_of(runtime, calls, post_and_parse_bounded);
            let mut v_endpoint = |calls| cpu_of(runtime, calls, endpoint);
            let mut v_credential = |calls| cpu_of(runtime, calls, credential);
            let mut v_their_bare = |calls| cpu_of(runtime, calls, bare_client_credentials);
            let mut v_theirs = |calls| cpu_of(runtime, calls, theirs_miss);
            let figures = paired_rounds(
                PAIRED_ROUNDS,
                PAIRED_CALLS,
                &mut [
                    (BARE, &mut v_bare),
                    (PIPELINE, &mut v_pipeline),
                    (READ, &mut v_read),
                    (BOUNDED, &mut v_bounded),
                    (ENDPOINT, &mut v_endpoint),
                    (CREDENTIAL, &mut v_credential),
                    (THEIR_BARE, &mut v_their_bare),
                    (THEIR_MISS, &mut v_theirs),
                ],
            );
            print!(
                "{}",
                report_paired(PAIRED, "client CPU", PAIRED_ROUNDS, PAIRED_CALLS, &figures)
            );
        }
        // The same eight counted in instructions (callgrind): repeatable whatever the load.
        if selected_by_command_line(INSTRUCTIONS) {
            match instruction_counts::instruction_counts(&VARIANTS, INSTRUCTION_CALLS, &["--bench"])
            {
                Ok(figures) => print!(
                    "{}",
                    instruction_counts::report_instruction_counts(
                        INSTRUCTIONS,
                        INSTRUCTION_CALLS,
                        &figures,
                    )
                ),
                Err(why) => println!("{INSTRUCTIONS}: not counted: {why}"),
            }
        }
        let (expected, refused, all) = authority.mock.log(|log| {
            let new = &log.token_requests[requests_before..];
            (
                new.iter()
                    .filter(|(g, _)| g == "refresh_token" || g == "client_credentials")
                    .count(),
                new.iter().filter(|(_, ok)| !ok).count(),
                new.len(),
            )
        });
        assert_eq!(refused, 0, "every grant succeeded");
        assert_eq!(
            expected, all,
            "only refresh grants (and azure_identity's client credentials grants) were made"
        );
    }

    /// The refresh grant group's variants, as the paired rounds and the instruction counts
    /// name them (the first is the reference), then azure_identity's credential on a miss and
    /// the bare POST of its grant.
    const VARIANTS: [&str; 8] = [
        BARE, PIPELINE, READ, BOUNDED, ENDPOINT, CREDENTIAL, THEIR_BARE, THEIR_MISS,
    ];
    const BARE: &str = "bare_reqwest_post";
    const PIPELINE: &str = "azure_core_pipeline_post";
    const READ: &str = "azure_core_pipeline_post_and_parse";
    const BOUNDED: &str = "azure_core_pipeline_post_and_parse_bounded";
    const ENDPOINT: &str = "token_endpoint_refresh_grant";
    const CREDENTIAL: &str = "InteractiveBrowserBrokerCredential::get_token";
    const THEIR_BARE: &str = "bare_reqwest_post_client_credentials";
    const THEIR_MISS: &str = "azure_identity_ClientSecretCredential::get_token";

    /// The paired measurement of the refresh grant group (not a criterion function: its
    /// figures are ratios per round).
    const PAIRED: &str = "entra_refresh_grant_tls_paired";

    /// The instruction counts of the refresh grant group (callgrind; not a criterion
    /// function), and the calls counted of each variant.
    const INSTRUCTIONS: &str = "entra_refresh_grant_tls_instructions";
    const INSTRUCTION_CALLS: u64 = 200;
    const PAIRED_ROUNDS: usize = 40;
    const PAIRED_CALLS: u64 = 250;

    /// A token response as any OAuth client reads it (the fields the refresh grant's answer
    /// has), with the id token's claims and the client info it carries.
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token_type: String,
        access_token: String,
        expires_in: u64,
        ext_expires_in: u64,
        refresh_token: String,
        id_token: String,
        client_info: String,
        scope: String,
    }

    #[derive(serde::Deserialize)]
    struct IdTokenClaims {
        aud: String,
        iss: String,
        sub: String,
        tid: String,
        preferred_username: String,
        exp: u64,
    }

    #[derive(serde::Deserialize)]
    struct ClientInfo {
        uid: String,
        utid: String,
    }

    /// Parses `body` as [`TokenAnswer`], then its id token's payload and its client info
    /// (base64url JSON), and hands everything to `black_box`.
    fn read_answer(body: &[u8]) {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let answer: TokenAnswer = serde_json::from_slice(body).unwrap();
        let payload = answer.id_token.split('.').nth(1).unwrap();
        let claims: IdTokenClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let info: ClientInfo =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&answer.client_info).unwrap()).unwrap();
        black_box((
            (&answer.token_type, &answer.access_token, answer.expires_in),
            (answer.ext_expires_in, &answer.refresh_token, &answer.scope),
            (&claims.aud, &claims.iss, &claims.sub, &claims.tid),
            (
                &claims.preferred_username,
                claims.exp,
                &info.uid,
                &info.utid,
            ),
        ));
    }
}

#[cfg(not(windows))]
criterion::criterion_group!(benches, entra::benches);
#[cfg(not(windows))]
criterion::criterion_main!(benches);

#[cfg(windows)]
fn main() {}
