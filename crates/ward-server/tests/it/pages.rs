//! The pages over real HTTP: one-time links and their expiry by the server's clock, session
//! cookies, CSRF refusals, escaping of the policy's texts, and the child's and parent's flows
//! ending in the same state (and `decide` answer) as the JSON API; the parent's controls form
//! (kept with its mistakes), "reset my recommendations", the dashboard's alerts, and the alert
//! stream read with a parent's page session (and refused to anyone else's).

use jiff::SignedDuration;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, CLIPSTREAM, Server, on_both, reason};

/// A browser without JavaScript: keeps the session cookie, never follows redirects (so each
/// status can be checked), reads the CSRF token off the last page.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

/// A response as a test looks at it.
struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Browser {
    fn new(server: &Server) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base.clone(),
            cookie: None,
            csrf: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let set_cookie = header(SET_COOKIE);
        if let Some(cookie) = &set_cookie {
            self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        }
        let page = Page {
            status: response.status(),
            location: header(LOCATION),
            set_cookie,
            content_type: header(CONTENT_TYPE).unwrap_or_default(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        };
        if let Some(token) = csrf_of(&page.html) {
            self.csrf = Some(token);
        }
        page
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(self.url(path));
        self.send(request).await
    }

    /// Posts a form with this session's CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let request = self.client.post(self.url(path)).form(&form);
        self.send(request).await
    }

    /// Posts a form exactly as given (no token added).
    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.client.post(self.url(path)).form(fields);
        self.send(request).await
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// Asks the admin API for a child's page link.
async fn child_link(server: &Server, child: &str) -> String {
    let (status, body) = server
        .post(&format!("/v1/children/{child}/page-link"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["url"].as_str().unwrap().to_owned()
}

/// Asks the admin API for a parent's sign-in link.
async fn parent_link(server: &Server, parent: &str) -> String {
    let (status, body) = server
        .post(&format!("/v1/parents/{parent}/sign-in-link"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["url"].as_str().unwrap().to_owned()
}

/// A browser signed in to `child`'s page.
async fn child_browser(server: &Server, child: &str) -> Browser {
    let mut browser = Browser::new(server);
    let opened = browser.get(&child_link(server, child).await).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.html);
    assert_eq!(opened.location.as_deref(), Some("/pages/child"));
    let page = browser.get("/pages/child").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    browser
}

/// A browser signed in as `parent` (through the "Continue" button).
async fn parent_browser(server: &Server, parent: &str) -> Browser {
    let mut browser = Browser::new(server);
    let link = parent_link(server, parent).await;
    let shown = browser.get(&link).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    assert!(shown.set_cookie.is_none(), "opening does not sign in");
    let path = link.trim_start_matches(&browser.base).to_owned();
    let signed_in = browser.post_raw(&path, &[]).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(signed_in.location.as_deref(), Some("/pages/parent"));
    let page = browser.get("/pages/parent").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    browser
}

#[tokio::test]
async fn a_child_link_opens_the_page_once_with_a_session_cookie() {
    on_both("child link", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        let (status, body) = server
            .post("/v1/children/kid-10/page-link", json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let url = body["url"].as_str().unwrap().to_owned();
        assert!(
            url.starts_with(&format!("{}/pages/link/", server.base)),
            "{url}"
        );
        assert_eq!(
            url.len() - url.rfind('/').unwrap() - 1,
            64,
            "256 random bits"
        );
        assert_eq!(body["expires_at"], "2026-03-02T12:05:00Z", "five minutes");

        let mut browser = Browser::new(&server);
        let opened = browser.get(&url).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER);
        assert_eq!(opened.location.as_deref(), Some("/pages/child"));
        let cookie = opened.set_cookie.unwrap();
        assert!(cookie.starts_with("ward_session="), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "served over http here: {cookie}"
        );

        let page = browser.get("/pages/child").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        for text in [
            "Your privacy settings",
            "Videos picked for you",
            "Uses the videos you watch and like to choose the next videos we show you.",
            "What we show you",
            "Keep subtitles on",
            "Making things easier to use",
            "Checking your age",
            r#"role="switch" aria-checked="false" aria-labelledby="name-recommend-videos""#,
            r#"role="switch" aria-checked="true" aria-labelledby="name-remember-subtitles""#,
            "Share my location",
            "Reset my recommendations",
        ] {
            assert!(page.html.contains(text), "{text} in {}", page.html);
        }
        assert!(!page.html.contains("supervised-sign"), "no parent linked");
        assert!(!page.html.contains("location-sign"), "location is off");
        assert!(
            !page.html.contains(r#"class="young""#),
            "10 is not a young band"
        );

        let mut other = Browser::new(&server);
        let reused = other.get(&url).await;
        assert_eq!(reused.status, StatusCode::GONE);
        assert!(reused.html.contains("already been used"), "{}", reused.html);
        assert!(reused.set_cookie.is_none());
        let unknown = other.get(&format!("/pages/link/{}", "ab".repeat(32))).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(unknown.html.contains("This link does not work"));
        let signed_out = other.get("/pages/child").await;
        assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
        assert!(signed_out.html.contains("You are not signed in"));
    })
    .await;
}

#[tokio::test]
async fn links_and_sessions_expire_by_the_servers_clock() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;

    let child = child_link(&server, "kid-10").await;
    server.clock.advance(SignedDuration::from_mins(5));
    let mut browser = Browser::new(&server);
    let expired = browser.get(&child).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(
        expired.html.contains("This link has expired"),
        "{}",
        expired.html
    );
    assert!(expired.set_cookie.is_none());

    let parent = parent_link(&server, "mum").await;
    server.clock.advance(SignedDuration::from_mins(14));
    assert_eq!(
        browser.get(&parent).await.status,
        StatusCode::OK,
        "still good"
    );
    server.clock.advance(SignedDuration::from_mins(1));
    let expired = browser.get(&parent).await;
    assert_eq!(expired.status, StatusCode::GONE, "{}", expired.html);
    let path = parent.trim_start_matches(&server.base).to_owned();
    let posted = browser.post_raw(&path, &[]).await;
    assert_eq!(posted.status, StatusCode::GONE, "nor by its button");
    assert!(posted.set_cookie.is_none());

    // A session lasts an hour for a child.
    let mut browser = child_browser(&server, "kid-10").await;
    server.clock.advance(SignedDuration::from_mins(59));
    assert_eq!(browser.get("/pages/child").await.status, StatusCode::OK);
    server.clock.advance(SignedDuration::from_mins(1));
    assert_eq!(
        browser.get("/pages/child").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The sweeper forgets expired sessions and, a day after expiry, links.
    server.clock.advance(SignedDuration::from_hours(24));
    server.state.sweep().await.unwrap();
    let pruned = browser.get(&child).await;
    assert_eq!(pruned.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forged_posts_are_refused_and_change_nothing() {
    on_both("csrf", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-12", 12, "GB").await;
        let mut browser = child_browser(&server, "kid-12").await;
        let path = "/pages/child/settings/recommend-videos";
        let ledger_entries = async || {
            server.get("/v1/children/kid-12/export").await.1["ledger"]
                .as_array()
                .unwrap()
                .len()
        };
        let entries_before = ledger_entries().await;

        let no_token = browser.post_raw(path, &[("value", "on")]).await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        assert!(no_token.html.contains("did not come from this page"));
        let wrong = browser
            .post_raw(path, &[("csrf", &"0".repeat(64)), ("value", "on")])
            .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        // Another session's token is no better.
        let other = child_browser(&server, "kid-12").await;
        let theirs = other.csrf.clone().unwrap();
        let mut browser = child_browser(&server, "kid-12").await;
        let borrowed = browser
            .post_raw(path, &[("csrf", &theirs), ("value", "on")])
            .await;
        assert_eq!(borrowed.status, StatusCode::FORBIDDEN);
        // A browser saying the form came from another site is refused even with the token.
        let token = browser.csrf.clone().unwrap();
        let request = browser
            .client
            .post(browser.url(path))
            .header("sec-fetch-site", "cross-site")
            .form(&[("csrf", token.as_str()), ("value", "on")]);
        let cross_site = browser.send(request).await;
        assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
        // Location and the parent's answers are guarded the same way.
        let location = browser
            .post_raw("/pages/child/location", &[("value", "on")])
            .await;
        assert_eq!(location.status, StatusCode::FORBIDDEN);

        assert_eq!(
            reason(&server.decide("kid-12", "recommend-videos").await),
            "setting_off"
        );
        let (_, child) = server.get("/v1/children/kid-12").await;
        assert_eq!(child["geolocation"], "off");
        assert_eq!(
            ledger_entries().await,
            entries_before,
            "nothing was shown or changed"
        );

        let good = browser.post(path, &[("value", "on")]).await;
        assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.html);
    })
    .await;
}

#[tokio::test]
async fn policy_texts_are_shown_escaped() {
    let policy = CLIPSTREAM
        .replace(
            "Uses the videos you watch and like to choose the next videos we show you.",
            r#"Uses <script>alert(\"x\")</script> & \"quotes\" to pick videos."#,
        )
        .replace(
            "Switching this on lets us use your watch history and likes",
            "Switching this on lets us use <img src=x onerror=alert(1)>",
        );
    let server = Server::start(&Backend::Sqlite, &policy).await;
    server.child("kid-11", 11, "GB").await;
    let mut browser = child_browser(&server, "kid-11").await;
    let page = browser.get("/pages/child").await;
    assert!(!page.html.contains("<script>"), "{}", page.html);
    assert!(
        page.html
            .contains("Uses &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#34;quotes&#34; to pick videos.")
            || page.html.contains(
                "Uses &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; to pick videos."
            ),
        "{}",
        page.html
    );
    let switched = browser
        .post("/pages/child/settings/recommend-videos", &[("value", "on")])
        .await;
    let shown = browser.get(switched.location.as_deref().unwrap()).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(!shown.html.contains("<img"), "{}", shown.html);
    assert!(!shown.html.contains("<script>"), "{}", shown.html);
}

#[tokio::test]
async fn a_ten_year_old_asks_the_parent_approves_and_decide_allows() {
    on_both("pages flow", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        let mut child = child_browser(&server, "kid-10").await;

        let switched = child
            .post("/pages/child/settings/recommend-videos", &[("value", "on")])
            .await;
        assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.html);
        let intervention_path = switched.location.unwrap();
        assert!(intervention_path.starts_with("/pages/child/switch-on/"));
        let shown = child.get(&intervention_path).await;
        assert_eq!(shown.status, StatusCode::OK);
        let explain = "Switching this on lets us use your watch history and likes to choose videos for you. You can switch it off again at any time, and we will stop.";
        let ask_adult = "Not sure? Talk to a parent or carer first. It is fine to leave this off.";
        assert!(shown.html.contains(explain), "{}", shown.html);
        assert!(shown.html.contains(ask_adult));
        assert!(shown.html.contains(r#"<button type="submit" class="choice">Not now</button>"#));
        assert!(shown.html.contains(r#"<button type="submit" class="choice">Ask my parent</button>"#));
        assert_eq!(
            reason(&server.decide("kid-10", "recommend-videos").await),
            "setting_off",
            "seeing it changes nothing"
        );

        let acknowledged = child.post(&intervention_path, &[]).await;
        assert_eq!(acknowledged.status, StatusCode::SEE_OTHER);
        assert_eq!(
            acknowledged.location.as_deref(),
            Some("/pages/child?notice=no-parent#s-recommend-videos")
        );
        let page = child.get(acknowledged.location.as_deref().unwrap()).await;
        assert!(page.html.contains("Waiting for a parent to say yes"));
        assert!(page.html.contains("no parent is linked"), "{}", page.html);
        assert_eq!(
            reason(&server.decide("kid-10", "recommend-videos").await),
            "awaiting_parent"
        );
        // Acknowledging twice finds nothing more to do.
        let again = child.post(&intervention_path, &[]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);

        let (status, _) = server
            .call(Method::PUT, "/v1/children/kid-10/parents/mum", Some(&server.admin), None)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let page = child.get("/pages/child").await;
        assert!(page.html.contains("A parent can see your settings."));

        let mut mum = parent_browser(&server, "mum").await;
        let dashboard = mum.get("/pages/parent").await;
        assert!(dashboard.html.contains("kid-10 asked to switch on “Videos picked for you”"), "{}", dashboard.html);
        assert!(dashboard.html.contains(explain), "the exact text the child saw");
        assert!(dashboard.html.contains(ask_adult));
        // The alerts so far, server-rendered, and the stream the script resumes after them.
        assert!(dashboard.html.contains("You were linked to kid-10."), "{}", dashboard.html);
        assert!(dashboard.html.contains(r#"data-stream="/v1/parents/mum/alerts""#));
        assert!(dashboard.html.contains(r#"<script src="/pages/assets/dashboard.js" defer></script>"#));
        let (_, requests) = server.get("/v1/children/kid-10/consent-requests").await;
        let request = &requests["requests"][0];
        let version = request["request"]["text_version"].as_str().unwrap();
        assert!(dashboard.html.contains(&format!("Text version {version}")));
        let request_id = request["request"]["id"].as_str().unwrap();

        let approved = mum
            .post(&format!("/pages/parent/requests/{request_id}/approve"), &[])
            .await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
        assert_eq!(
            approved.location.as_deref(),
            Some("/pages/parent?notice=approved#child-kid-10")
        );
        let decision = server.decide("kid-10", "recommend-videos").await;
        assert_eq!(decision["allow"], true, "{decision}");
        let (_, state) = server.get("/v1/children/kid-10").await;
        assert_eq!(state["settings"][0]["consent"]["parent"], "mum");
        assert_eq!(state["settings"][0]["consent"]["method"], "email_plus");
        let page = child.get("/pages/child").await;
        assert!(page.html.contains("On. A parent said yes."), "{}", page.html);
        let dashboard = mum.get("/pages/parent").await;
        assert!(dashboard.html.contains("Approved by mum"), "{}", dashboard.html);
        let twice = mum
            .post(&format!("/pages/parent/requests/{request_id}/deny"), &[])
            .await;
        assert_eq!(twice.status, StatusCode::CONFLICT);

        // Switching off: one post, straight back to the page.
        let off = child
            .post("/pages/child/settings/recommend-videos", &[("value", "off")])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER);
        assert_eq!(
            off.location.as_deref(),
            Some("/pages/child?notice=off#s-recommend-videos")
        );
        assert_eq!(
            reason(&server.decide("kid-10", "recommend-videos").await),
            "setting_off"
        );
    })
    .await;
}

#[tokio::test]
async fn the_location_sign_shows_while_sharing_and_session_end_turns_sharing_off() {
    on_both("location sign", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-9", 9, "GB").await;
        let mut child = child_browser(&server, "kid-9").await;
        let page = child.get("/pages/child").await;
        assert!(
            page.html.contains(r#"<body class="young">"#),
            "6-9 gets the larger layout"
        );

        let on = child
            .post("/pages/child/location", &[("value", "on")])
            .await;
        assert_eq!(on.status, StatusCode::SEE_OTHER);
        let page = child.get("/pages/child").await;
        assert!(page.html.contains(r#"id="location-sign""#));
        assert!(page.html.contains("Your location is being shared."));
        let (_, state) = server.get("/v1/children/kid-9").await;
        assert_eq!(state["geolocation"], "on");
        // The sign is on every page of the child's, the intervention too.
        let switched = child
            .post("/pages/child/settings/recommend-videos", &[("value", "on")])
            .await;
        let shown = child.get(switched.location.as_deref().unwrap()).await;
        assert!(shown.html.contains(r#"id="location-sign""#));

        let (status, _) = server
            .post("/v1/children/kid-9/sessions/end", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let page = child.get("/pages/child").await;
        assert!(!page.html.contains(r#"id="location-sign""#));
        assert!(
            page.html
                .contains(r#"aria-checked="false" aria-labelledby="name-location""#)
        );

        // The sign's own button stops sharing in one post.
        child
            .post("/pages/child/location", &[("value", "on")])
            .await;
        let stopped = child
            .post("/pages/child/location", &[("value", "off")])
            .await;
        assert_eq!(stopped.status, StatusCode::SEE_OTHER);
        let (_, state) = server.get("/v1/children/kid-9").await;
        assert_eq!(state["geolocation"], "off");

        let public = child
            .post("/pages/child/profile", &[("value", "public")])
            .await;
        assert_eq!(public.status, StatusCode::SEE_OTHER);
        let (_, state) = server.get("/v1/children/kid-9").await;
        assert_eq!(state["profile"], "public");
    })
    .await;
}

#[tokio::test]
async fn a_parent_sees_and_answers_only_their_own_childrens_requests() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-a", 11, "GB").await;
    server.child("kid-b", 11, "GB").await;
    for (child, parent) in [("kid-a", "mum"), ("kid-b", "dad")] {
        let (status, _) = server
            .call(
                Method::PUT,
                &format!("/v1/children/{child}/parents/{parent}"),
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let intervention = server.request_on("kid-b", "recommend-videos").await;
    let (_, acknowledged) = server.acknowledge(&intervention).await;
    let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();

    let mut mum = parent_browser(&server, "mum").await;
    let dashboard = mum.get("/pages/parent").await;
    assert!(dashboard.html.contains("kid-a"));
    assert!(!dashboard.html.contains("kid-b"), "{}", dashboard.html);
    let refused = mum
        .post(&format!("/pages/parent/requests/{request_id}/approve"), &[])
        .await;
    // To a parent not linked to the child, the request does not exist.
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.html);
    assert!(!refused.html.contains("kid-b"), "{}", refused.html);
    assert_eq!(
        reason(&server.decide("kid-b", "recommend-videos").await),
        "awaiting_parent"
    );

    let mut dad = parent_browser(&server, "dad").await;
    assert!(dad.get("/pages/parent").await.html.contains(&request_id));
    let denied = dad
        .post(&format!("/pages/parent/requests/{request_id}/deny"), &[])
        .await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reason(&server.decide("kid-b", "recommend-videos").await),
        "setting_off"
    );
    let dashboard = dad.get("/pages/parent").await;
    assert!(
        dashboard.html.contains("Denied by dad"),
        "{}",
        dashboard.html
    );

    // Unlinked: the child leaves the dashboard at once.
    let (status, _) = server
        .call(
            Method::DELETE,
            "/v1/children/kid-b/parents/dad",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let dashboard = dad.get("/pages/parent").await;
    assert!(!dashboard.html.contains(r#"id="child-kid-b""#));
    assert!(
        dashboard.html.contains("You were unlinked from kid-b."),
        "{}",
        dashboard.html
    );
    assert!(
        dashboard
            .html
            .contains("No children are linked to you yet.")
    );

    // A parent's session is not a child's, nor the other way round.
    assert_eq!(dad.get("/pages/child").await.status, StatusCode::FORBIDDEN);
    let mut child = child_browser(&server, "kid-a").await;
    assert_eq!(
        child.get("/pages/parent").await.status,
        StatusCode::FORBIDDEN
    );
    let forged = child
        .post(&format!("/pages/parent/requests/{request_id}/approve"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;
    let mut child = child_browser(&server, "kid-10").await;
    let old_cookie = child.cookie.clone();
    let signed_out = child.post("/pages/sign-out", &[]).await;
    assert_eq!(signed_out.status, StatusCode::OK);
    assert!(signed_out.set_cookie.unwrap().contains("Max-Age=0"));
    child.cookie = old_cookie;
    assert_eq!(
        child.get("/pages/child").await.status,
        StatusCode::UNAUTHORIZED,
        "the session is gone from the store, not only from the browser"
    );
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_host_bound() {
    let server = Server::start_with_pages(
        &Backend::Sqlite,
        CLIPSTREAM,
        ward_server::PagesConfig {
            public_url: Some("https://privacy.example.com/".to_owned()),
            secure_cookies: None,
        },
    )
    .await;
    server.child("kid-10", 10, "GB").await;
    let url = child_link(&server, "kid-10").await;
    assert!(
        url.starts_with("https://privacy.example.com/pages/link/"),
        "{url}"
    );
    let path = url.trim_start_matches("https://privacy.example.com");
    let mut browser = Browser::new(&server);
    let opened = browser.get(path).await;
    let cookie = opened.set_cookie.unwrap();
    assert!(cookie.starts_with("__Host-ward_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert_eq!(browser.get("/pages/child").await.status, StatusCode::OK);
}

#[tokio::test]
async fn links_are_for_the_admin_scope_and_known_children() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;
    let decide = server.key("decide").await;
    let mum = server.key("parent:mum").await;
    for token in [&decide, &mum] {
        for path in [
            "/v1/children/kid-10/page-link",
            "/v1/parents/mum/sign-in-link",
        ] {
            let (status, body) = server.call(Method::POST, path, Some(token), None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        }
    }
    let (status, body) = server
        .post("/v1/children/nobody/page-link", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "child_not_found");
    let (status, body) = server
        .post("/v1/parents/Not%20An%20Id/sign-in-link", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn pages_carry_their_security_headers_and_unknown_pages_are_html() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;
    let mut browser = child_browser(&server, "kid-10").await;
    let page = browser.get("/pages/child").await;
    let header = |name: &str| page.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    let css = browser.get("/pages/assets/ward.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type.starts_with("text/css"));
    let missing = browser.get("/pages/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.content_type.starts_with("text/html"));
    let api = browser.get("/v1/nothing-here").await;
    assert!(
        api.content_type.starts_with("application/json"),
        "the API stays JSON"
    );
}

#[tokio::test]
async fn an_intervention_left_for_half_an_hour_must_be_asked_for_again() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-14", 14, "GB").await;
    let mut child = child_browser(&server, "kid-14").await;
    let switched = child
        .post("/pages/child/settings/recommend-videos", &[("value", "on")])
        .await;
    let path = switched.location.unwrap();
    let shown = child.get(&path).await;
    assert!(
        shown
            .html
            .contains(r#"<button type="submit" class="choice">Switch on</button>"#),
        "14 in GB consents alone"
    );
    server.clock.advance(SignedDuration::from_mins(30));
    let late = child.get(&path).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(late.html.contains("That took a little too long"));
    let late = child.post(&path, &[]).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(
        reason(&server.decide("kid-14", "recommend-videos").await),
        "setting_off"
    );
    // Another child's intervention is not found from this session.
    server.child("kid-other", 14, "GB").await;
    let theirs = server.request_on("kid-other", "recommend-videos").await;
    let id = theirs["id"].as_str().unwrap();
    let other = child.get(&format!("/pages/child/switch-on/{id}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let other = child
        .post(&format!("/pages/child/switch-on/{id}"), &[])
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_child_whose_age_is_not_established_is_told_so_and_cannot_acknowledge() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let (status, _) = server.put("/v1/children/kid-new", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut child = child_browser(&server, "kid-new").await;
    let page = child.get("/pages/child").await;
    assert!(
        page.html.contains(r#"<body class="young">"#),
        "unknown sees the youngest admitted band's texts (6-9)"
    );
    let switched = child
        .post("/pages/child/settings/recommend-videos", &[("value", "on")])
        .await;
    let path = switched.location.unwrap();
    let shown = child.get(&path).await;
    assert!(
        shown.html.contains("needs to check how old you are"),
        "{}",
        shown.html
    );
    assert!(
        shown
            .html
            .contains("If you switch this on, we look at the videos you watch")
    );
    assert!(!shown.html.contains("Switch on</button>") && !shown.html.contains("Ask my parent"));
    let refused = child.post(&path, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
}

#[tokio::test]
async fn a_child_now_old_enough_keeps_a_parents_consent_as_their_own() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-b", 12, "GB").await;
    server
        .call(
            Method::PUT,
            "/v1/children/kid-b/parents/mum",
            Some(&server.admin),
            None,
        )
        .await;
    let intervention = server.request_on("kid-b", "recommend-videos").await;
    let (_, acknowledged) = server.acknowledge(&intervention).await;
    let request_id = acknowledged["request"]["id"].as_str().unwrap().to_owned();
    let mut mum = parent_browser(&server, "mum").await;
    let approved = mum
        .post(&format!("/pages/parent/requests/{request_id}/approve"), &[])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    // A new age record: 13, the age of digital consent in GB.
    let (status, body) = server
        .put(
            "/v1/children/kid-b",
            json!({"age": {"method": "parent_declared", "age": 13}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut child = child_browser(&server, "kid-b").await;
    let page = child.get("/pages/child").await;
    assert!(
        page.html
            .contains("You are old enough to decide this yourself now."),
        "{}",
        page.html
    );
    let kept = child
        .post("/pages/child/settings/recommend-videos/confirm", &[])
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.html);
    let (_, state) = server.get("/v1/children/kid-b").await;
    assert_eq!(state["settings"][0]["consent"]["given_by"], "user");
    let page = child.get("/pages/child").await;
    assert!(
        !page
            .html
            .contains("You are old enough to decide this yourself now.")
    );
}

/// Links `parent` to `child` through the admin API.
async fn link_parent(server: &Server, child: &str, parent: &str) {
    let (status, body) = server
        .call(
            Method::PUT,
            &format!("/v1/children/{child}/parents/{parent}"),
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_setting_waiting_for_a_parent_after_an_age_correction_reads_right_on_both_pages() {
    on_both("pages age correction", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-14", 14, "GB").await;
        link_parent(&server, "kid-14", "mum").await;
        let intervention = server.request_on("kid-14", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        let mut child = child_browser(&server, "kid-14").await;
        assert!(child.get("/pages/child").await.html.contains(r#"aria-checked="true" aria-labelledby="name-recommend-videos""#));

        let (status, _) = server
            .put("/v1/children/kid-14", json!({"age": {"method": "verified", "age": 11}}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reason(&server.decide("kid-14", "recommend-videos").await), "awaiting_parent");
        // The child sees what they asked for, waiting, and why: not "you asked just now".
        let page = child.get("/pages/child").await;
        assert!(page.html.contains(r#"aria-checked="true" aria-labelledby="name-recommend-videos""#), "{}", page.html);
        assert!(
            page.html.contains("Waiting for a parent to say yes: at your age, a parent has to agree to this. It is off until they do. Switch it off to stop asking."),
            "{}",
            page.html
        );
        // And what it does, in the words for their age now: what the parent is shown too.
        let told = page.html.find(r#"<div class="told">"#).expect("the band's words on the card");
        assert!(page.html[told..].contains("Switching this on lets us use your watch history and likes to choose videos for you."), "{}", page.html);
        // The parent sees the same state, why they are asked, and the words for an 11-year-old.
        let mut mum = parent_browser(&server, "mum").await;
        let dashboard = mum.get("/pages/parent").await;
        let heading = "kid-14 switched on “Videos picked for you” themselves; their age or country now means a parent must agree";
        assert!(dashboard.html.contains(heading), "{}", dashboard.html);
        assert!(dashboard.html.contains(&format!("{heading}. It stays off until a parent answers.")), "the alert says the same");
        assert!(!dashboard.html.contains("kid-14 asked to switch on"), "{}", dashboard.html);
        assert!(dashboard.html.contains("What kid-14 is told about it at their age:"));
        assert!(dashboard.html.contains("Switching this on lets us use your watch history and likes to choose videos for you."));
        assert!(dashboard.html.contains("<dt>Videos picked for you</dt><dd>Waiting for a parent</dd>"), "{}", dashboard.html);
        let (_, requests) = server.get("/v1/children/kid-14/consent-requests").await;
        let pending: Vec<&serde_json::Value> = requests["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["status"] == "pending")
            .collect();
        assert_eq!(pending.len(), 1, "{requests}");
        let request_id = pending[0]["request"]["id"].as_str().unwrap();
        let approved = mum
            .post(&format!("/pages/parent/requests/{request_id}/approve"), &[])
            .await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
        assert_eq!(reason(&server.decide("kid-14", "recommend-videos").await), "setting_on");
        let page = child.get("/pages/child").await;
        assert!(page.html.contains("On. A parent said yes."), "{}", page.html);
        let dashboard = mum.get("/pages/parent").await;
        assert!(dashboard.html.contains("<dt>Videos picked for you</dt><dd>On</dd>"), "{}", dashboard.html);
    })
    .await;
}

/// The controls stored for `child`, as the API writes them.
async fn stored_controls(server: &Server, child: &str) -> serde_json::Value {
    let (status, export) = server.get(&format!("/v1/children/{child}/export")).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    export["stored"]["controls"].clone()
}

#[tokio::test]
async fn a_parent_sets_screen_time_bedtime_and_blocks_from_the_dashboard() {
    on_both("pages controls", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        server.child("kid-other", 10, "GB").await;
        link_parent(&server, "kid-10", "mum").await;
        link_parent(&server, "kid-other", "dad").await;
        let mut mum = parent_browser(&server, "mum").await;
        let dashboard = mum.get("/pages/parent").await;
        for text in [
            "Screen time, bedtime and blocks",
            "<dt>Daily screen time</dt><dd>No limit</dd>",
            r#"<label for="daily_minutes-kid-10">Daily screen time, in minutes</label>"#,
            r#"<label for="bedtime_start-kid-10">From</label>"#,
            r#"<label for="blocked_topics-kid-10">Blocked topics</label>"#,
            "Bedtime, in kid-10’s time (Europe/London)",
        ] {
            assert!(dashboard.html.contains(text), "{text} in {}", dashboard.html);
        }

        let saved = mum
            .post(
                "/pages/parent/children/kid-10/controls",
                &[
                    ("daily_minutes", "60"),
                    ("bedtime_start", "20:30"),
                    ("bedtime_end", "07:00"),
                    ("blocked_tags", "gambling"),
                    ("blocked_topics", "horror, true crime,"),
                    ("blocked_sources", ""),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
        assert_eq!(
            saved.location.as_deref(),
            Some("/pages/parent?saved=kid-10#controls-kid-10")
        );
        // The same operation as the API: the same stored controls.
        assert_eq!(
            stored_controls(&server, "kid-10").await,
            json!({"daily_minutes": 60, "bedtime": "20:30-07:00", "blocked_tags": ["gambling"], "blocked_topics": ["horror", "true crime"], "blocked_sources": []})
        );
        let page = mum.get(saved.location.as_deref().unwrap()).await;
        for text in [
            "Saved. These apply now.",
            "<dd>60 minutes a day</dd>",
            "<dd>20:30 to 07:00</dd>",
            "<dd>horror, true crime</dd>",
            r#"name="daily_minutes" value="60""#,
            r#"name="bedtime_start" value="20:30""#,
            r#"name="blocked_topics" value="horror, true crime""#,
        ] {
            assert!(page.html.contains(text), "{text} in {}", page.html);
        }

        // A bedtime of 25:00: the form comes back as posted, the mistake beside its field;
        // nothing changes.
        let refused = mum
            .post(
                "/pages/parent/children/kid-10/controls",
                &[
                    ("daily_minutes", "90"),
                    ("bedtime_start", "25:00"),
                    ("bedtime_end", "07:00"),
                    ("blocked_topics", "horror, spiders"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
        for text in [
            "Nothing was saved. Please check:",
            r##"<a href="#bedtime_start-kid-10">“25:00” is not a time on the 24-hour clock"##,
            r#"<p class="field-error" id="bedtime-error-kid-10">“25:00” is not a time"#,
            r#"name="bedtime_start" value="25:00" aria-invalid="true""#,
            r#"name="daily_minutes" value="90""#,
            r#"name="blocked_topics" value="horror, spiders""#,
        ] {
            assert!(refused.html.contains(text), "{text} in {}", refused.html);
        }
        assert!(!refused.html.contains("Saved. These apply now."));
        assert_eq!(stored_controls(&server, "kid-10").await["daily_minutes"], 60);

        for (fields, message) in [
            (
                vec![("daily_minutes", "lots")],
                "Enter the minutes as a whole number",
            ),
            (vec![("daily_minutes", "5000")], "A day has 1440 minutes"),
            (
                vec![("bedtime_start", "20:30")],
                "Give both a start and an end for bedtime",
            ),
            (
                vec![("bedtime_start", "20:30"), ("bedtime_end", "20:30")],
                "Bedtime must start and end at different times.",
            ),
            (
                vec![("blocked_sources", &"x".repeat(200))],
                "Each name can be at most 128 characters long.",
            ),
        ] {
            let refused = mum
                .post("/pages/parent/children/kid-10/controls", &fields)
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
            assert!(refused.html.contains(message), "{message} in {}", refused.html);
        }
        assert_eq!(stored_controls(&server, "kid-10").await["daily_minutes"], 60);

        // Forged (no CSRF token): refused, nothing changes.
        let forged = mum
            .post_raw(
                "/pages/parent/children/kid-10/controls",
                &[("daily_minutes", "1440")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
        assert!(forged.html.contains("That form did not come from this page"));
        // Another parent's child: refused as the API refuses it, whether or not the form is
        // right.
        for minutes in ["30", "lots"] {
            let other = mum
                .post(
                    "/pages/parent/children/kid-other/controls",
                    &[("daily_minutes", minutes)],
                )
                .await;
            assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.html);
            assert!(!other.html.contains("kid-other</h2>"));
        }
        assert_eq!(stored_controls(&server, "kid-other").await, json!({"blocked_tags": [], "blocked_topics": [], "blocked_sources": []}));
        // A child's session cannot set controls, not even their own.
        let mut child = child_browser(&server, "kid-10").await;
        let by_child = child
            .post(
                "/pages/parent/children/kid-10/controls",
                &[("daily_minutes", "1440")],
            )
            .await;
        assert_eq!(by_child.status, StatusCode::FORBIDDEN);
        assert_eq!(stored_controls(&server, "kid-10").await["daily_minutes"], 60);

        // Emptied: no limit, no bedtime, no blocks.
        let cleared = mum
            .post("/pages/parent/children/kid-10/controls", &[])
            .await;
        assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.html);
        assert_eq!(
            stored_controls(&server, "kid-10").await,
            json!({"blocked_tags": [], "blocked_topics": [], "blocked_sources": []})
        );
    })
    .await;
}

#[tokio::test]
async fn a_child_resets_their_recommendations_in_one_click() {
    on_both("pages reset", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        server.child("kid-fresh", 10, "GB").await;
        let (status, body) = server
            .put(
                "/v1/children/kid-10/interests",
                json!({"interests": ["football", "science"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let drift = |child: &'static str| {
            let server = &server;
            async move {
                let (_, export) = server.get(&format!("/v1/children/{child}/export")).await;
                let resets: Vec<serde_json::Value> = export["ledger"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|entry| entry["kind"] == "profile_reset")
                    .map(|entry| serde_json::from_str(entry["payload"].as_str().unwrap()).unwrap())
                    .collect();
                (export["drift"]["state"].clone(), resets)
            }
        };
        let (fresh, _) = drift("kid-fresh").await;
        let (before, _) = drift("kid-10").await;
        assert_ne!(before, fresh, "the interests anchor the drift state");

        let mut child = child_browser(&server, "kid-10").await;
        let page = child.get("/pages/child").await;
        assert!(
            page.html
                .contains(r#"action="/pages/child/settings/recommend-videos/reset""#),
            "{}",
            page.html
        );
        assert!(
            !page
                .html
                .contains("/pages/child/settings/remember-subtitles/reset"),
            "only recommendations and feeds are reset"
        );
        assert!(!page.html.contains("disabled aria-describedby=\"reset-note"));

        // Without the CSRF token: refused, nothing reset.
        let forged = child
            .post_raw("/pages/child/settings/recommend-videos/reset", &[])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let (still, resets) = drift("kid-10").await;
        assert_eq!(still, before);
        assert!(resets.is_empty());

        // One click: the drift state is cleared and the service is told (a profile_reset
        // event, as `POST /v1/children/{id}/profile-reset` writes); the setting stays off.
        let reset = child
            .post("/pages/child/settings/recommend-videos/reset", &[])
            .await;
        assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.html);
        assert_eq!(
            reset.location.as_deref(),
            Some("/pages/child?notice=reset#s-recommend-videos")
        );
        let (after, resets) = drift("kid-10").await;
        assert_eq!(after, fresh, "anchor and window cleared");
        assert_eq!(resets.len(), 1, "{resets:?}");
        assert_eq!(resets[0]["purpose"], "recommend-videos");
        assert_eq!(resets[0]["by"], json!({"kind": "child"}));
        assert_eq!(
            reason(&server.decide("kid-10", "recommend-videos").await),
            "setting_off"
        );
        let page = child.get(reset.location.as_deref().unwrap()).await;
        assert!(
            page.html.contains("Your recommendations start afresh."),
            "{}",
            page.html
        );
        // An unknown setting is refused as the API refuses it.
        let unknown = child
            .post("/pages/child/settings/no-such-thing/reset", &[])
            .await;
        assert!(unknown.status.is_client_error(), "{}", unknown.status);
    })
    .await;
}

/// Opens `parent`'s alert stream as a browser page would: with a session cookie (and no key).
async fn stream_with_cookie(
    server: &Server,
    parent: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = server
        .client
        .get(format!("{}/v1/parents/{parent}/alerts", server.base));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_alert_stream_takes_the_parents_own_page_session() {
    on_both("pages stream", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid-10", 10, "GB").await;
        server.child("kid-dad", 10, "GB").await;
        link_parent(&server, "kid-10", "mum").await;
        link_parent(&server, "kid-dad", "dad").await;
        let mum = parent_browser(&server, "mum").await;
        let dad = parent_browser(&server, "dad").await;
        let child = child_browser(&server, "kid-10").await;
        let mum_cookie = mum.cookie.clone().unwrap();

        // Mum's own dashboard session reads her stream, resuming as the page does.
        let response = stream_with_cookie(
            &server,
            "mum",
            Some(&mum_cookie),
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut alerts = crate::support::AlertStream::from_response(response);
        let intervention = server.request_on("kid-10", "recommend-videos").await;
        server.acknowledge(&intervention).await;
        let changed = alerts.next().await;
        assert_eq!(changed.event, "setting_changed");
        let requested = alerts.next().await;
        assert_eq!(requested.event, "consent_requested");
        assert_eq!(requested.data["child"], "kid-10");

        let refusal = |response: reqwest::Response| async move {
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        };
        // Another parent's session, and a child's: refused.
        let (status, code) =
            refusal(stream_with_cookie(&server, "mum", dad.cookie.as_deref(), &[]).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
        let (status, code) =
            refusal(stream_with_cookie(&server, "mum", child.cookie.as_deref(), &[]).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
        // Mum's session, sent by another site's page: refused.
        let (status, _) = refusal(
            stream_with_cookie(
                &server,
                "mum",
                Some(&mum_cookie),
                &[("sec-fetch-site", "cross-site")],
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Nothing at all, or a cookie that is no session: 401.
        for cookie in [None, Some("ward_session=not-a-session")] {
            let (status, code) =
                refusal(stream_with_cookie(&server, "mum", cookie, &[]).await).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::UNAUTHORIZED, "unauthorized")
            );
        }
        // A key is judged alone: a bad one is refused even beside a good session cookie, and
        // a good key for another parent does not borrow the cookie's parent.
        let (status, code) = refusal(
            stream_with_cookie(
                &server,
                "mum",
                Some(&mum_cookie),
                &[("authorization", "Bearer ward_0000000000000000_00")],
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_key")
        );
        let dads_key = server.key("parent:dad").await;
        let (status, _) = refusal(
            stream_with_cookie(
                &server,
                "mum",
                Some(&mum_cookie),
                &[("authorization", &format!("Bearer {dads_key}"))],
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A session that ended no longer reads the stream.
        server.clock.advance(SignedDuration::from_hours(9));
        let (status, _) =
            refusal(stream_with_cookie(&server, "mum", Some(&mum_cookie), &[]).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_lists_the_latest_alerts_in_words_and_serves_its_script() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;
    link_parent(&server, "kid-10", "mum").await;
    let intervention = server.request_on("kid-10", "recommend-videos").await;
    server.acknowledge(&intervention).await;
    let mut mum = parent_browser(&server, "mum").await;
    let page = mum.get("/pages/parent").await;
    let newest = page.html.find("kid-10 asked to switch on “Videos picked for you”. It stays off until a parent answers.").expect("the request's alert");
    let older = page
        .html
        .find("kid-10’s “Videos picked for you” is now waiting for a parent.")
        .expect("the setting's alert");
    let oldest = page
        .html
        .find("You were linked to kid-10.")
        .expect("the link's alert");
    assert!(newest < older && older < oldest, "newest first");
    // The stream resumes after the newest shown.
    let stream_after = page
        .html
        .split(r#"data-after=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let newest_id = page.html[..newest]
        .rsplit(r#"id="alert-"#)
        .next()
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(stream_after, newest_id);
    assert!(page.html.contains(r#"role="status" aria-live="polite""#));

    // The script is a file of this server, allowed by the page's policy; no inline script.
    let script = mum.get("/pages/assets/dashboard.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.content_type, "text/javascript; charset=utf-8");
    assert!(script.html.contains("new EventSource("));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.html.matches("<script").count(), 1);
    assert!(
        page.html
            .contains(r#"<script src="/pages/assets/dashboard.js" defer></script>"#)
    );
}

/// A form posted by another site's page is refused everywhere, the sign-in "Continue"
/// included, whichever header gives it away (`Sec-Fetch-Site` or `Origin`), and so is the alert
/// stream read with a page session; this site's own requests pass.
#[tokio::test]
async fn other_sites_are_refused_by_every_form_and_the_alert_stream() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    server.child("kid-10", 10, "GB").await;
    link_parent(&server, "kid-10", "mum").await;
    let own_origin = server.base.clone();
    // `Origin: null` alone is refused; with `Sec-Fetch-Site: same-origin` (a page of ours whose
    // referrer policy hid its origin) it passes, as the sign-in below shows.
    let foreign: [(&str, &str); 4] = [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];

    // The sign-in link's "Continue": refused from another site, and the link is not used up.
    let link = parent_link(&server, "mum").await;
    let mut browser = Browser::new(&server);
    assert_eq!(browser.get(&link).await.status, StatusCode::OK);
    for (name, value) in foreign {
        let request = browser
            .client
            .post(&link)
            .header(name, value)
            .form(&[("", "")]);
        let refused = browser.send(request).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(refused.set_cookie.is_none(), "{name}: {value}");
    }
    let request = browser
        .client
        .post(&link)
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("", "")]);
    let signed_in = browser.send(request).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );

    // A child's form with a good CSRF token but another site's origin changes nothing.
    let mut child = child_browser(&server, "kid-10").await;
    let token = child.csrf.clone().unwrap();
    for (name, value) in foreign {
        let request = child
            .client
            .post(child.url("/pages/child/location"))
            .header(name, value)
            .form(&[("csrf", token.as_str()), ("value", "on")]);
        assert_eq!(
            child.send(request).await.status,
            StatusCode::FORBIDDEN,
            "{name}: {value}"
        );
    }
    let (_, state) = server.get("/v1/children/kid-10").await;
    assert_eq!(state["geolocation"], "off");

    // The alert stream with mum's session: another site's origin is refused even without
    // `Sec-Fetch-Site`; her own dashboard's is served.
    let cookie = browser.cookie.clone().unwrap();
    for (name, value) in foreign {
        let response = stream_with_cookie(&server, "mum", Some(&cookie), &[(name, value)]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let response =
        stream_with_cookie(&server, "mum", Some(&cookie), &[("origin", &own_origin)]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Every answer under `/pages` carries the pages' security headers, the 404 and 405 drawn
/// outside the pages' own layer included; `Strict-Transport-Security` comes with an https
/// public URL (on the API too) and never without one.
#[tokio::test]
async fn every_page_answer_carries_the_security_headers() {
    let server = Server::start(&Backend::Sqlite, CLIPSTREAM).await;
    let mut browser = Browser::new(&server);
    for (path, status) in [
        ("/pages/no-such-page", StatusCode::NOT_FOUND),
        ("/pages/sign-out", StatusCode::NOT_FOUND),
        ("/pages/child", StatusCode::UNAUTHORIZED),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(page.content_type.starts_with("text/html"), "{path}");
        for (name, value) in [
            ("content-security-policy", "default-src 'none'"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("x-content-type-options", "nosniff"),
            ("cache-control", "no-store"),
        ] {
            let got = page
                .headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned());
            assert!(
                got.as_deref().is_some_and(|got| got.starts_with(value)),
                "{path}: {name} is {got:?}"
            );
        }
        assert!(
            page.headers.get("strict-transport-security").is_none(),
            "{path}"
        );
    }

    let https = Server::start_with_pages(
        &Backend::Sqlite,
        CLIPSTREAM,
        ward_server::PagesConfig {
            public_url: Some("https://privacy.example.com".to_owned()),
            secure_cookies: None,
        },
    )
    .await;
    let mut browser = Browser::new(&https);
    for path in [
        "/pages/no-such-page",
        "/pages/child",
        "/healthz",
        "/v1/no-such-route",
    ] {
        let page = browser.get(path).await;
        let hsts = page.headers.get("strict-transport-security");
        assert_eq!(
            hsts.map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_child_hides_and_reports_from_why_am_i_seeing_this_and_reads_what_happened() {
    on_both("feedback pages", |backend: Backend| async move {
        let server = Server::start(&backend, CLIPSTREAM).await;
        server.child("kid", 14, "GB").await;
        link_parent(&server, "kid", "mum").await;
        let mut browser = child_browser(&server, "kid").await;
        let item = r#"{"id":"v1","kind":"video","topics":["pranks"],"source":"chan-9","assessed":true}"#;
        let query: String = url_encode(item);
        let why = browser
            .get(&format!("/pages/child/why?setting=recommend-videos&item={query}"))
            .await;
        assert_eq!(why.status, StatusCode::OK, "{}", why.html);
        assert!(why.html.contains("Not for me") && why.html.contains("Report"));
        assert!(why.html.contains("A stranger contacted me"));
        // "Not for me", as the form sends it.
        let hidden = browser
            .post("/pages/child/feedback", &[("item", item), ("kind", "not_interested")])
            .await;
        assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.html);
        let page = browser.get(hidden.location.as_deref().unwrap()).await;
        assert!(page.html.contains("Got it."), "{}", page.html);
        assert!(page.html.contains("A video about pranks from chan-9"));
        assert!(page.html.contains("not what it was"), "the child is told what a parent sees");
        // The guard honours it at once.
        let (_, filtered) = server
            .post("/v1/feed/filter", json!({"child": "kid", "items": [serde_json::from_str::<serde_json::Value>(item).unwrap()]}))
            .await;
        assert_eq!(filtered["kept"], json!([]));
        // What it holds back is listed, each with its own "show again".
        assert!(page.html.contains("Held back for a while"), "{}", page.html);
        assert!(page.html.contains("Things about pranks (for 30 more days)"), "{}", page.html);
        assert!(page.html.contains("Things from chan-9"));
        let released = browser
            .post("/pages/child/feedback/release", &[("kind", "topic"), ("name", "pranks")])
            .await;
        assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.html);
        let page = browser.get(released.location.as_deref().unwrap()).await;
        assert!(page.html.contains("Those can show up again."), "{}", page.html);
        assert!(!page.html.contains("Things about pranks"), "{}", page.html);
        assert!(page.html.contains("Things from chan-9") && page.html.contains("A video about pranks from chan-9"));
        let (_, filtered) = server
            .post("/v1/feed/filter", json!({"child": "kid", "items": [{"id": "v7", "kind": "video", "topics": ["pranks"], "assessed": true}]}))
            .await;
        assert_eq!(filtered["kept"], json!(["v7"]), "{filtered}");
        let bad = browser
            .post("/pages/child/feedback/release", &[("kind", "colour"), ("name", "pranks")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        // "Show again".
        let shown = browser
            .post("/pages/child/feedback/show-again", &[("item", "v1")])
            .await;
        assert_eq!(shown.status, StatusCode::SEE_OTHER, "{}", shown.html);
        let page = browser.get("/pages/child").await;
        assert!(!page.html.contains("A video about pranks"), "{}", page.html);
        // A self-harm report shows the help at once.
        let report = r#"{"id":"p9","kind":"post","topics":["dares"],"assessed":true}"#;
        let reported = browser
            .post(
                "/pages/child/feedback",
                &[("item", report), ("kind", "report"), ("reason", "self_harm_or_suicide")],
            )
            .await;
        assert_eq!(reported.location.as_deref(), Some("/pages/child?notice=reported-help#help"));
        let page = browser.get("/pages/child?notice=reported-help").await;
        assert!(page.html.contains("You don't have to deal with this alone"));
        assert!(page.html.contains("Childline") && page.html.contains("0800 1111"));
        assert!(page.html.contains("Waiting for someone to look at it."));
        assert!(page.html.contains("Show again: A post about dares"), "{}", page.html);
        // The parent's dashboard says a report was made, never what.
        let mut parent = parent_browser(&server, "mum").await;
        let dashboard = parent.get("/pages/parent").await;
        assert!(dashboard.html.contains("reported something they saw"), "{}", dashboard.html);
        assert!(!dashboard.html.contains("dares") && !dashboard.html.contains("p9"));
        // A moderator acknowledges, then resolves: the page follows.
        let (_, list) = server.get("/v1/reports?status=open").await;
        let id = list["reports"][0]["id"].as_str().unwrap().to_owned();
        server.post(&format!("/v1/reports/{id}/acknowledge"), json!({})).await;
        let page = browser.get("/pages/child").await;
        assert!(page.html.contains("Someone is looking at it now."), "{}", page.html);
        let (status, _) = server
            .post(&format!("/v1/reports/{id}/resolve"), json!({"outcome": "removed"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let page = browser.get("/pages/child").await;
        assert!(page.html.contains("ve had a look. We took it down."), "{}", page.html);
        // Taken down, it cannot be shown again: the child is told so instead.
        assert!(!page.html.contains("Show again: A post about dares"), "{}", page.html);
        assert!(page.html.contains("It was taken down after your report, so nobody can see it any more."));
        // A bad form changes nothing.
        let bad = browser
            .post("/pages/child/feedback", &[("item", report), ("kind", "report"), ("reason", "meh")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn what_is_held_back_and_what_was_taken_down_are_said_in_the_childs_words() {
    // ward's words for a 7-year-old; the policy's own for 13-15.
    let policy = CLIPSTREAM.replace(
        "report_sla_hours = 12\n",
        "report_sla_hours = 12\nheld_text = { \"13-15\" = \"You asked us to show less of these.\" }\ntaken_down_text = \"Gone for good.\"\n",
    );
    assert_ne!(policy, CLIPSTREAM);
    let server = Server::start(&Backend::Sqlite, &policy).await;
    server.child("small", 7, "GB").await;
    server.child("teen", 14, "GB").await;
    let item =
        r#"{"id":"v1","kind":"video","topics":["pranks"],"source":"chan-9","assessed":true}"#;
    let mut young = child_browser(&server, "small").await;
    let hidden = young
        .post(
            "/pages/child/feedback",
            &[("item", item), ("kind", "not_interested")],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.html);
    let page = young.get("/pages/child").await;
    assert!(
        page.html
            .contains("We&#39;re showing you less of these for a while.")
            || page
                .html
                .contains("We're showing you less of these for a while."),
        "{}",
        page.html
    );
    // No dates for the youngest.
    assert!(
        page.html.contains("Things about pranks") && !page.html.contains("more days"),
        "{}",
        page.html
    );
    let mut teen = child_browser(&server, "teen").await;
    teen.post(
        "/pages/child/feedback",
        &[("item", item), ("kind", "not_interested")],
    )
    .await;
    let report = r#"{"id":"p2","kind":"post","topics":["dares"],"assessed":true}"#;
    teen.post(
        "/pages/child/feedback",
        &[("item", report), ("kind", "report"), ("reason", "bullying")],
    )
    .await;
    let (_, list) = server.get("/v1/reports?status=open").await;
    let id = list["reports"][0]["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/v1/reports/{id}/resolve"),
            json!({"outcome": "removed"}),
        )
        .await;
    let page = teen.get("/pages/child").await;
    assert!(
        page.html.contains("You asked us to show less of these."),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("Things about pranks (for 30 more days)"),
        "{}",
        page.html
    );
    assert!(page.html.contains("Gone for good."), "{}", page.html);
    assert!(
        !page.html.contains("Show again: A post about dares"),
        "{}",
        page.html
    );
}
