//! A fresh bucket per test on the S3-compatible server that `tests/run` starts (moto's
//! standalone server, over a real socket), and what the tests need to look into it.

use mediastore::config::S3Settings;

/// Where the S3-compatible server listens.
fn endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9390".into())
}

pub struct TestBucket {
    pub settings: S3Settings,
    http: reqwest::Client,
}

impl TestBucket {
    /// Creates a bucket of its own; keys go under the `media` prefix, as in production.
    pub async fn create() -> Self {
        Self::create_at(&endpoint()).await
    }

    /// [`create`](Self::create) on the S3-compatible server at `endpoint`.
    pub async fn create_at(endpoint: &str) -> Self {
        let bucket = format!("test-{}", uuid::Uuid::new_v4().simple());
        let settings = S3Settings {
            endpoint: Some(endpoint.to_owned()),
            access_key_id: Some("test-key".into()),
            secret_access_key: Some("test-secret".into()),
            allow_http: true,
            prefix: "media".into(),
            ..S3Settings::new(bucket)
        };
        let bucket = Self::existing(settings);
        bucket.put_bucket().await;
        bucket
    }

    /// Creates this bucket on the server (again, after a restart of a server that keeps
    /// everything in memory).
    pub async fn put_bucket(&self) {
        let created = self.http.put(self.url("")).send().await;
        let created = created.unwrap_or_else(|e| {
            panic!(
                "no S3-compatible server at {} ({e}); run tests/run, which starts one",
                self.endpoint()
            )
        });
        assert!(
            created.status().is_success(),
            "creating a bucket: {created:?}"
        );
    }

    fn endpoint(&self) -> &str {
        self.settings
            .endpoint
            .as_deref()
            .expect("a test bucket has an endpoint")
    }

    /// A bucket that is already there (or deliberately is not).
    pub fn existing(settings: S3Settings) -> Self {
        Self {
            settings,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, query: &str) -> String {
        format!("{}/{}{query}", self.endpoint(), self.settings.bucket)
    }

    /// The `S3_*` variables for the `mediastore` binary.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let s = &self.settings;
        vec![
            ("S3_BUCKET", s.bucket.clone()),
            ("S3_ENDPOINT", s.endpoint.clone().unwrap()),
            ("S3_ACCESS_KEY_ID", s.access_key_id.clone().unwrap()),
            ("S3_SECRET_ACCESS_KEY", s.secret_access_key.clone().unwrap()),
            ("S3_ALLOW_HTTP", "true".into()),
            ("S3_PREFIX", s.prefix.clone()),
        ]
    }

    /// Every key in the bucket, from the server's own listing (ListObjectsV2).
    pub async fn keys(&self) -> Vec<String> {
        let listing = self.get_xml("?list-type=2").await;
        let mut keys = elements(&listing, "Key");
        keys.sort();
        keys
    }

    /// Multipart uploads begun and neither completed nor aborted (ListMultipartUploads).
    pub async fn pending_multipart_uploads(&self) -> Vec<String> {
        elements(&self.get_xml("?uploads").await, "Key")
    }

    pub async fn assert_no_pending_multipart_uploads(&self) {
        assert_eq!(
            self.pending_multipart_uploads().await,
            Vec::<String>::new(),
            "no multipart upload may be left pending"
        );
    }

    /// Writes an object directly, bypassing the service (to plant strays and corrupt bytes).
    pub async fn put_object(&self, key: &str, bytes: Vec<u8>) {
        use object_store::ObjectStoreExt as _;
        self.client()
            .put(&object_store::path::Path::from(key), bytes.into())
            .await
            .expect("put object");
    }

    pub async fn get_object(&self, key: &str) -> Vec<u8> {
        use object_store::ObjectStoreExt as _;
        let object = self
            .client()
            .get(&object_store::path::Path::from(key))
            .await;
        let bytes = object.expect("get object").bytes().await;
        bytes.expect("object bytes").to_vec()
    }

    pub async fn delete_object(&self, key: &str) {
        use object_store::ObjectStoreExt as _;
        self.client()
            .delete(&object_store::path::Path::from(key))
            .await
            .expect("delete object");
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        let s = &self.settings;
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_endpoint(s.endpoint.clone().unwrap())
            .with_access_key_id(s.access_key_id.clone().unwrap())
            .with_secret_access_key(s.secret_access_key.clone().unwrap())
            .with_region(&s.region)
            .with_allow_http(true)
            .build()
            .unwrap()
    }

    /// The key a stored name has in this bucket.
    pub fn key_of(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.settings.prefix, &name[..2])
    }

    async fn get_xml(&self, query: &str) -> String {
        let response = self.http.get(self.url(query)).send().await.unwrap();
        assert!(response.status().is_success(), "{response:?}");
        response.text().await.unwrap()
    }
}

/// The text of every `<tag>` element (the listings here hold no nested markup in them).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}
