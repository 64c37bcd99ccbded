//! Requests to a `TestApp`: through reqwest, or over a raw socket where the client must not
//! tidy up the request; and the checks every problem+json answer gets.

use std::fmt::Display;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::app::{API_KEY, TestApp, wait_until};

pub const BOUNDARY: &str = "mediastore-test-boundary";

/// One file part for an upload form.
pub fn file_part(bytes: Vec<u8>, file_name: &str, content_type: &str) -> Part {
    Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(content_type)
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A raw connection to the app's port.
    pub async fn connect(&self) -> tokio::net::TcpStream {
        let port = self.address.rsplit(':').next().unwrap();
        tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap()
    }

    pub async fn post_form(&self, form: Form) -> reqwest::Response {
        self.client
            .post(self.url("/v1/media"))
            .multipart(form)
            .send()
            .await
            .expect("upload request")
    }

    /// Uploads one file as a browser form would.
    pub async fn post_upload(&self, bytes: Vec<u8>, file_name: &str) -> reqwest::Response {
        self.post_form(Form::new().part(
            "file",
            file_part(bytes, file_name, "application/octet-stream"),
        ))
        .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `GET path` with one more request header.
    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(header, value)
            .send()
            .await
            .expect("GET")
    }

    /// Sends `request_line_path` exactly as given (no client-side normalisation of `..`).
    pub async fn raw_get(&self, request_line_path: &str) -> (u16, String) {
        let mut stream = self.connect().await;
        let request = format!(
            "GET {request_line_path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// `POST /v1/media/map` with the test API key.
    pub async fn map(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/media/map"))
            .bearer_auth(API_KEY)
            .json(body)
            .send()
            .await
            .expect("map")
    }

    /// `DELETE /v1/media/{id}` with the test API key.
    pub async fn delete(&self, id: impl Display) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/v1/media/{id}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("delete")
    }

    /// Sends the head of a one-file upload and half the file over a raw socket, waits until it
    /// is staged, hangs up, and waits until the service has removed the staging file.
    pub async fn hang_up_half_way(&self, file: &[u8]) {
        let (head, tail) = split_multipart(file);
        let mut socket = self.connect().await;
        let request = format!(
            "POST /v1/media HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
             Content-Length: {}\r\n\r\n",
            head.len() + tail.len()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        socket.write_all(&head).await.unwrap();
        wait_until("the upload is staged", || async {
            !self.staged_files().is_empty()
        })
        .await;
        drop(socket); // gone, mid-file
        wait_until("the staging file is removed", || async {
            self.staged_files().is_empty()
        })
        .await;
    }
}

/// A one-file multipart body split in two: the first half of the file, then the rest.
pub fn split_multipart(file: &[u8]) -> (bytes::Bytes, bytes::Bytes) {
    let half = file.len() / 2;
    let mut head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    head.extend_from_slice(&file[..half]);
    let mut tail = file[half..].to_vec();
    tail.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (head.into(), tail.into())
}

/// Reads a problem+json error and checks its shape; returns it.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status);
    assert_eq!(problem["code"], code, "{problem}");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(problem["type"].as_str().is_some());
    problem
}

/// The problem's `detail`.
pub fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().expect("a detail")
}

/// The value of one sample line (`name{labels} value`) in a Prometheus text page; 0 when the
/// series has not been recorded yet.
pub fn metric_sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}
