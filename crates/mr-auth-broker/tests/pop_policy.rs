//! `PopAuthorizationPolicy` with the fake broker: `Authorization: PoP <token>` bound to each
//! request's method and URL, and the server's nonce from a `WWW-Authenticate: PoP` challenge.

use async_trait::async_trait;
use azure_core::http::{
    headers::{HeaderName, Headers, AUTHORIZATION, WWW_AUTHENTICATE},
    policies::{Policy, PolicyResult},
    AsyncRawResponse, ClientOptions, Context, HttpClient, Method, Pipeline, Request, StatusCode,
    Transport,
};
use mr_auth_broker::{
    BrokerMode, ErrorKind, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, PopAuthorizationPolicy, PopMethod,
};
use mr_auth_test_support::chromium::{handler, NoBrowser};
use mr_auth_test_support::fake_broker::{Call, FakeBroker, Script};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

const SCOPE: &str = "https://r.example/.default";

/// The end of the pipeline: records each request's method, URL and Authorization header and
/// answers from a script (200 when the script is empty).
#[derive(Debug, Default)]
struct Resource {
    seen: Mutex<Vec<(String, String, String)>>,
    answers: Mutex<VecDeque<(StatusCode, Option<&'static str>)>>,
}

impl Resource {
    fn answer(&self, status: StatusCode, challenge: Option<&'static str>) {
        self.answers.lock().unwrap().push_back((status, challenge));
    }
    fn seen(&self) -> Vec<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }
    fn respond(&self, request: &Request) -> AsyncRawResponse {
        let auth = request
            .headers()
            .get_optional_str(&AUTHORIZATION)
            .unwrap_or_default()
            .to_owned();
        self.seen.lock().unwrap().push((
            request.method().to_string(),
            request.url().to_string(),
            auth,
        ));
        let (status, challenge) = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or((StatusCode::Ok, None));
        let mut headers = Headers::new();
        if let Some(c) = challenge {
            headers.insert(WWW_AUTHENTICATE, c);
        }
        AsyncRawResponse::from_bytes(status, headers, Vec::new())
    }
}

#[async_trait]
impl Policy for Resource {
    async fn send(
        &self,
        _: &Context,
        request: &mut Request,
        _: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        Ok(self.respond(request))
    }
}

#[async_trait]
impl HttpClient for Resource {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        Ok(self.respond(request))
    }
}

fn setup(broker: Option<Arc<FakeBroker>>) -> (Arc<PopAuthorizationPolicy>, Arc<Resource>) {
    let credential =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: match broker {
                Some(broker) => BrokerMode::Custom(broker),
                None => BrokerMode::BrowserOnly,
            },
            authorize_url_handler: handler(Arc::new(NoBrowser::default())),
            ..Default::default()
        }))
        .unwrap();
    (
        Arc::new(PopAuthorizationPolicy::new(credential, [SCOPE])),
        Arc::new(Resource::default()),
    )
}

async fn send(
    policy: &PopAuthorizationPolicy,
    resource: &Arc<Resource>,
    method: Method,
    url: &str,
) -> azure_core::Result<StatusCode> {
    let mut request = Request::new(url.parse().unwrap(), method);
    let next: Vec<Arc<dyn Policy>> = vec![resource.clone()];
    policy
        .send(&Context::new(), &mut request, &next)
        .await
        .map(|r| r.status())
}

fn broker() -> Arc<FakeBroker> {
    Arc::new(FakeBroker {
        silent: Script::Token { account: "acct-1" },
        ..FakeBroker::interactive_only()
    })
}

#[tokio::test]
async fn writes_a_pop_token_bound_to_the_request() {
    mr_auth_test_support::bounded(async move {
        let broker = broker();
        let (policy, resource) = setup(Some(broker.clone()));
        assert_eq!(
            send(
                &policy,
                &resource,
                Method::Post,
                "https://r.example/items?x=1"
            )
            .await
            .unwrap(),
            StatusCode::Ok
        );
        let seen = resource.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].2, "PoP broker-token-0");
        let pop = broker.last_request().pop.unwrap();
        assert_eq!(pop.method(), PopMethod::Post);
        assert_eq!(pop.url().as_str(), "https://r.example/items?x=1");
        assert_eq!(pop.nonce(), None);
        assert_eq!(broker.last_request().scopes, [SCOPE]);
    })
    .await;
}

#[tokio::test]
async fn answers_a_nonce_challenge_once_and_keeps_the_nonce() {
    mr_auth_test_support::bounded(async move {
        let broker = broker();
        let (policy, resource) = setup(Some(broker.clone()));
        resource.answer(
            StatusCode::Unauthorized,
            Some(r#"PoP nonce="server-nonce-1""#),
        );
        assert_eq!(
            send(&policy, &resource, Method::Get, "https://r.example/a")
                .await
                .unwrap(),
            StatusCode::Ok
        );
        let seen = resource.seen();
        assert_eq!(seen.len(), 2, "sent again after the challenge");
        assert_ne!(seen[0].2, seen[1].2, "with a new token");
        assert!(seen[1].2.starts_with("PoP "));
        assert_eq!(
            broker.last_request().pop.unwrap().nonce(),
            Some("server-nonce-1")
        );

        // The next request starts with the nonce it learned.
        send(&policy, &resource, Method::Delete, "https://r.example/b")
            .await
            .unwrap();
        let pop = broker.last_request().pop.unwrap();
        assert_eq!(
            (pop.method(), pop.nonce()),
            (PopMethod::Delete, Some("server-nonce-1"))
        );

        // A challenge with the nonce just used is not retried (no loop).
        resource.answer(
            StatusCode::Unauthorized,
            Some(r#"PoP nonce="server-nonce-1""#),
        );
        assert_eq!(
            send(&policy, &resource, Method::Get, "https://r.example/c")
                .await
                .unwrap(),
            StatusCode::Unauthorized
        );
        assert_eq!(resource.seen().len(), 4);

        // A Bearer-only challenge is passed through untouched.
        resource.answer(
            StatusCode::Unauthorized,
            Some(r#"Bearer authorization_uri="https://login""#),
        );
        assert_eq!(
            send(&policy, &resource, Method::Get, "https://r.example/d")
                .await
                .unwrap(),
            StatusCode::Unauthorized
        );
        assert_eq!(resource.seen().len(), 5);
    })
    .await;
}

#[tokio::test]
async fn refuses_methods_pop_cannot_bind_and_needs_a_broker() {
    mr_auth_test_support::bounded(async move {
        let (policy, resource) = setup(Some(broker()));
        let e = send(&policy, &resource, Method::Head, "https://r.example/a")
            .await
            .unwrap_err();
        assert_eq!(
            e.downcast_ref::<mr_auth_broker::Error>().unwrap().kind(),
            ErrorKind::InvalidInput
        );
        assert!(resource.seen().is_empty(), "nothing sent");

        // No broker (on Windows: the WAM stub, which cannot make PoP): no Bearer fallback,
        // nothing sent.
        {
            let (policy, resource) = setup(None);
            let e = send(&policy, &resource, Method::Get, "https://r.example/a")
                .await
                .unwrap_err();
            assert_eq!(
                e.downcast_ref::<mr_auth_broker::Error>().unwrap().kind(),
                ErrorKind::PopNeedsBroker
            );
            assert!(resource.seen().is_empty());
        }
        let broker = Arc::new(FakeBroker {
            supports_pop: false,
            ..FakeBroker::interactive_only()
        });
        let (policy, resource) = setup(Some(broker.clone()));
        let e = send(&policy, &resource, Method::Get, "https://r.example/a")
            .await
            .unwrap_err();
        assert_eq!(
            e.downcast_ref::<mr_auth_broker::Error>().unwrap().kind(),
            ErrorKind::PopNeedsBroker
        );
        assert!(resource.seen().is_empty());
        assert!(broker.calls().is_empty());
    })
    .await;
}

#[tokio::test]
async fn works_inside_an_azure_core_pipeline() {
    mr_auth_test_support::bounded(async move {
        let broker = broker();
        let (policy, resource) = setup(Some(broker.clone()));
        resource.answer(StatusCode::Unauthorized, Some(r#"PoP nonce="n-7""#));
        let pipeline = Pipeline::new(
            Some("test"),
            Some("0"),
            ClientOptions {
                transport: Some(Transport::new(resource.clone())),
                ..Default::default()
            },
            Vec::new(),
            vec![policy],
            None,
        );
        let mut request = Request::new("https://r.example/items".parse().unwrap(), Method::Put);
        request.insert_header(HeaderName::from_static("x-test"), "1");
        let response = pipeline
            .send(&Context::new(), &mut request, None)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::Ok);
        let seen = resource.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen
            .iter()
            .all(|(m, _, a)| m == "PUT" && a.starts_with("PoP broker-token-")));
        assert_eq!(broker.last_request().pop.unwrap().nonce(), Some("n-7"));
        assert_eq!(broker.calls()[0], Call::Interactive(None));
    })
    .await;
}
