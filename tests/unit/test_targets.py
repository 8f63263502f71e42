"""Where webhooks may go (lifecycle/targets.py), the webhook settings, and
the sender's pinned connection: TLS checks the host name while the socket
goes to the address that was checked."""

from __future__ import annotations

import http.server
import ipaddress
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from lifecycle import targets
from lifecycle.config import ConfigError, Settings, parse_networks
from lifecycle.errors import InvalidInput
from projections.deliverer import Sender, backoff

LOOPBACK = parse_networks("127.0.0.0/8")


def refusal(url: str, allow=()) -> str:
    with pytest.raises(InvalidInput) as caught:
        targets.check(url, allow)
    assert caught.value.field == "url"
    return caught.value.message


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),          # 127.0.0.1 as one decimal number
    ("http://0x7f000001/", "loopback"),          # … in hex
    ("http://0177.0.0.1/", "loopback"),          # … in octal
    ("http://[::ffff:127.0.0.1]/", "loopback"),  # … as IPv6
    ("http://localhost/", "loopback"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://[fd00::1]/", "private"),
    ("http://169.254.1.1/", "link-local"),
    ("http://169.254.169.254/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://100.64.0.1/", "not a public address"),  # shared address space (carrier NAT)
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
])
def test_addresses_that_are_not_public_are_refused_by_default(url, words):
    assert words in refusal(url)
    assert "LIFECYCLE_WEBHOOK_ALLOW" in refusal(url)


@pytest.mark.parametrize(("url", "words"), [
    ("http://8.8.8.8/hook", "use https"),
    ("ftp://8.8.8.8/", "https://"),
    ("https://user:pw@8.8.8.8/", "no user name or password"),
    ("https://8.8.8.8/#part", "fragment"),
    ("https:///hook", "names no host"),
    ("https://8.8.8.8:99999/", "not a URL"),
    ("https://8.8.8.8:0/", "port 0"),
    ("https://does-not-exist.invalid/", "does not resolve"),
    ("https://8.8.8.8/" + "a" * 2000, "longer than"),
])
def test_urls_it_never_sends_to(url, words):
    assert words in refusal(url, LOOPBACK)


def test_an_allowed_network_lets_its_addresses_in_and_http_is_fine_there():
    target = targets.check("http://127.0.0.1:8080/hooks?team=a", LOOPBACK)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "127.0.0.1", 8080, "/hooks?team=a")
    assert target.pinned_url == "http://127.0.0.1:8080/hooks?team=a" and target.host_header == "127.0.0.1:8080"
    assert targets.check("http://localhost/x", LOOPBACK).address == ipaddress.ip_address("127.0.0.1")
    assert targets.check("http://10.3.2.1/", parse_networks("10.0.0.0/8")).address.is_private
    assert "private" in refusal("http://10.3.2.1/", parse_networks("10.4.0.0/16"))


def test_metadata_addresses_need_to_be_listed_as_themselves():
    assert "metadata" in refusal("http://169.254.169.254/", parse_networks("169.254.0.0/16"))
    assert targets.check("http://169.254.169.254/", parse_networks("169.254.169.254/32")).port == 80


def test_public_https_targets_are_pinned_to_the_address_checked():
    target = targets.check("https://8.8.8.8/hook", ())
    assert target.pinned_url == "https://8.8.8.8:443/hook" and target.host_header == "8.8.8.8"
    v6 = targets.check("https://[2001:4860:4860::8888]:8443/h", ())
    assert v6.pinned_url == "https://[2001:4860:4860::8888]:8443/h" and v6.host_header == "[2001:4860:4860::8888]:8443"


def test_webhook_settings_from_the_environment():
    s = Settings.from_env({"LIFECYCLE_WEBHOOK_ALLOW": "10.0.0.0/8, 192.168.1.0/24 127.0.0.1",
                           "LIFECYCLE_WEBHOOK_RETRY_HOURS": "0.5", "LIFECYCLE_DELIVER": "0",
                           "LIFECYCLE_WEBHOOK_TIMEOUT": "3"})
    assert [str(n) for n in s.webhook_allow] == ["10.0.0.0/8", "192.168.1.0/24", "127.0.0.1/32"]
    assert (s.webhook_retry_hours, s.deliver, s.webhook_timeout) == (0.5, False, 3.0)
    d = Settings.from_env({})
    assert (d.webhook_allow, d.webhook_retry_hours, d.deliver, d.webhook_timeout) == ((), 24.0, True, 10.0)
    for env in ({"LIFECYCLE_WEBHOOK_ALLOW": "10.0.0.0/33"}, {"LIFECYCLE_WEBHOOK_ALLOW": "intranet"},
                {"LIFECYCLE_WEBHOOK_RETRY_HOURS": "-1"}, {"LIFECYCLE_WEBHOOK_RETRY_HOURS": "nan"},
                {"LIFECYCLE_WEBHOOK_TIMEOUT": "soon"}):
        with pytest.raises(ConfigError, match=next(iter(env))):
            Settings.from_env(env)


def test_backoff_doubles_with_jitter_up_to_half_an_hour():
    for attempt, full in ((1, 1), (2, 2), (3, 4), (6, 32), (40, 1800)):
        waits = [backoff(attempt) for _ in range(200)]
        assert all(full / 2 <= w <= full for w in waits)
        assert len(set(waits)) > 100, "jittered"


@pytest.fixture
def tls_receiver(tmp_path: Path):
    """An HTTPS server on 127.0.0.1 whose certificate names hooks.example only."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example",
                    "-addext", "subjectAltName=DNS:hooks.example"], check=True, capture_output=True)
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert, seen
    server.shutdown()
    server.server_close()


def test_tls_checks_the_host_name_while_connecting_to_the_pinned_address(tls_receiver):
    port, cert, seen = tls_receiver
    sender = Sender(timeout=5)
    address = ipaddress.ip_address("127.0.0.1")
    good = targets.Target(f"https://hooks.example:{port}/h", "https", "hooks.example", port, "/h", address)
    sender.session("s1", good).verify = str(cert)  # trust this test's own certificate
    outcome = sender.post("s1", good, b"{}", {})
    assert outcome.error is None and outcome.status == 204
    assert seen == [f"hooks.example:{port}"]

    wrong = targets.Target(f"https://other.example:{port}/h", "https", "other.example", port, "/h", address)
    sender.session("s2", wrong).verify = str(cert)
    refused = sender.post("s2", wrong, b"{}", {})
    assert refused.status is None and "other.example" in refused.error, refused.error
    sender.close()
