//! The pages over real HTTP: one-time links and their expiry by the server's clock, session
//! cookies, CSRF refusals, escaping of the policy's texts, and the child's and parent's flows
//! ending in the same state (and `decide` answer) as the JSON API.

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
        assert!(dashboard.html.contains("<!-- issue 7: alerts stream -->"));
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
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
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
    assert!(!dashboard.html.contains("kid-b"));
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
    assert_eq!(header("referrer-policy"), "no-referrer");
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
