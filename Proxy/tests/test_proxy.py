"""logcache-proxy in front of a fake upstream, real processes on loopback."""
import json
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import proxy_binary

CHAT = "/v1/chat/completions"


def post(proxy, path, body, headers=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(proxy.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def ask(content, **extra):
    return {"model": "fake", "messages": [{"role": "user", "content": content}], "temperature": 0.5, **extra}


def test_miss_then_hit(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    s1, h1, b1 = post(proxy, CHAT, ask("hello"))
    s2, h2, b2 = post(proxy, CHAT, ask("hello"))
    assert s1 == s2 == 200
    assert h1["X-LogCache"] == "miss" and h2["X-LogCache"] == "hit"
    assert b1 == b2 and json.loads(b2)["choices"][0]["message"]["content"].startswith("answer 1")
    assert upstream.count(CHAT) == 1
    stats = json.loads(urllib.request.urlopen(proxy.url + "/logcache/stats").read())
    assert stats["proxy"]["hits"] == 1 and stats["proxy"]["misses"] == 1


def test_key_is_the_canonical_body(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, None, raw=b'{"model":"fake","temperature":0.5,"messages":[{"role":"user","content":"x"}]}')
    _, h, _ = post(proxy, CHAT, None, raw=b'{ "messages": [{"content": "x", "role": "user"}], "temperature": 5e-1, "model": "fake" }')
    assert h["X-LogCache"] == "hit" and upstream.count(CHAT) == 1
    _, h, _ = post(proxy, CHAT, ask("x", temperature=0.7))
    assert h["X-LogCache"] == "miss" and upstream.count(CHAT) == 2
    _, h, _ = post(proxy, CHAT, ask("x", seed=3))
    assert h["X-LogCache"] == "miss" and upstream.count(CHAT) == 3


def test_authorization_is_not_in_the_key_but_key_headers_are(upstream, start_proxy):
    proxy = start_proxy(upstream.url, "--key-header", "OpenAI-Organization")
    post(proxy, CHAT, ask("team"), headers={"Authorization": "Bearer alice"})
    _, h, _ = post(proxy, CHAT, ask("team"), headers={"Authorization": "Bearer bob"})
    assert h["X-LogCache"] == "hit" and upstream.count(CHAT) == 1
    assert upstream.calls[0]["headers"]["Authorization"] == "Bearer alice"
    _, h, _ = post(proxy, CHAT, ask("team"), headers={"OpenAI-Organization": "org-2"})
    assert h["X-LogCache"] == "miss"
    _, h, _ = post(proxy, CHAT, ask("team"), headers={"OpenAI-Organization": "org-2"})
    assert h["X-LogCache"] == "hit" and upstream.count(CHAT) == 2


def test_cache_control(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, ask("cc"))
    _, h, b = post(proxy, CHAT, ask("cc"), headers={"Cache-Control": "no-cache"})
    assert h["X-LogCache"] == "miss" and upstream.count(CHAT) == 2 and b"answer 2" in b
    _, h, b = post(proxy, CHAT, ask("cc"))
    assert h["X-LogCache"] == "hit" and b"answer 2" in b  # the refresh replaced the entry
    _, h, _ = post(proxy, CHAT, ask("cc"), headers={"Cache-Control": "no-store"})
    assert h["X-LogCache"] == "bypass" and upstream.count(CHAT) == 3
    _, h, b = post(proxy, CHAT, ask("cc"))
    assert h["X-LogCache"] == "hit" and b"answer 2" in b  # no-store did not write either
    import time
    time.sleep(1.2)
    _, h, _ = post(proxy, CHAT, ask("cc"), headers={"Cache-Control": "max-age=1"})
    assert h["X-LogCache"] == "miss" and upstream.count(CHAT) == 4
    _, h, _ = post(proxy, CHAT, ask("cc"), headers={"Cache-Control": "max-age=60"})
    assert h["X-LogCache"] == "hit"
    s, _, b = post(proxy, CHAT, ask("cc"), headers={"Cache-Control": "max-age=soon"})
    assert s == 400 and b"max-age" in b


def test_ttl_and_namespace(upstream, start_proxy, tmp_path):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, ask("ttl"), headers={"X-LogCache-TTL": "1"})
    import time
    time.sleep(1.2)
    _, h, _ = post(proxy, CHAT, ask("ttl"))
    assert h["X-LogCache"] == "miss"
    post(proxy, CHAT, ask("ns"), headers={"X-LogCache-Namespace": "team-a"})
    _, h, _ = post(proxy, CHAT, ask("ns"), headers={"X-LogCache-Namespace": "team-b"})
    assert h["X-LogCache"] == "miss"
    s, _, b = post(proxy, CHAT, ask("ns"), headers={"X-LogCache-Namespace": "a/b"})
    assert s == 400
    s, _, b = post(proxy, CHAT, ask("ns"), headers={"X-LogCache-TTL": "-4"})
    assert s == 400


def test_non_2xx_and_other_endpoints_are_not_stored(upstream, start_proxy):
    proxy = start_proxy(upstream.url, "--cache-path", "/fail")
    s, h, _ = post(proxy, "/fail/x", {"a": 1})
    s2, h2, _ = post(proxy, "/fail/x", {"a": 1})
    assert s == s2 == 500 and h2["X-LogCache"] == "miss" and upstream.count("/fail/x") == 2
    with urllib.request.urlopen(proxy.url + "/v1/models") as r:
        assert r.headers["X-LogCache"] == "bypass" and json.loads(r.read())["data"][0]["id"] == "fake-model"
    post(proxy, "/v1/files", {"f": 1})
    post(proxy, "/v1/files", {"f": 1})
    assert upstream.count("/v1/files") == 2
    _, h, _ = post(proxy, "/v1/embeddings", {"input": "e", "model": "m"})
    _, h, _ = post(proxy, "/v1/embeddings", {"input": "e", "model": "m"})
    assert h["X-LogCache"] == "hit"


def test_large_bodies_are_forwarded_uncached(upstream, start_proxy):
    proxy = start_proxy(upstream.url, "--max-body", "1000")
    big = ask("x" * 2000)
    post(proxy, CHAT, big)
    _, h, _ = post(proxy, CHAT, big)
    assert h["X-LogCache"] == "bypass" and upstream.count(CHAT) == 2


def read_stream(proxy, body):
    request = urllib.request.Request(proxy.url + CHAT, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.headers["X-LogCache"], r.headers["Content-Type"], r.read()


def test_streams_are_recorded_and_replayed(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    m1, t1, first = read_stream(proxy, ask("stream me", stream=True))
    m2, t2, second = read_stream(proxy, ask("stream me", stream=True))
    assert (m1, m2) == ("miss", "hit")
    assert t1.startswith("text/event-stream") and t2.startswith("text/event-stream")
    assert first == second and first.endswith(b"data: [DONE]\n\n") and first.count(b"data: ") > 3
    assert upstream.count(CHAT) == 1


def test_an_aborted_stream_is_not_stored(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    for _ in range(2):
        try:
            read_stream(proxy, ask("abort me", stream=True, abort=True))
        except Exception:
            pass
    assert upstream.count(CHAT) == 2


def test_concurrent_identical_requests_make_one_upstream_call(upstream, start_proxy):
    upstream.delay = 0.5
    proxy = start_proxy(upstream.url)
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda _: post(proxy, CHAT, ask("together")), range(50)))
    assert all(s == 200 for s, _, _ in results)
    assert len({b for _, _, b in results}) == 1
    assert upstream.count(CHAT) == 1


def test_two_proxies_on_one_store(upstream, start_proxy, tmp_path):
    upstream.delay = 0.5
    store = str(tmp_path / "shared")
    a = start_proxy(upstream.url, store=store)
    b = start_proxy(upstream.url, store=store)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: post(a if i % 2 else b, CHAT, ask("shared")), range(8)))
    assert len({body for _, _, body in results}) == 1
    assert upstream.count(CHAT) == 1
    _, h, _ = post(b, CHAT, ask("shared"))
    assert h["X-LogCache"] == "hit"


def test_upstream_down(start_proxy):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = start_proxy(f"http://127.0.0.1:{port}")
    s, _, b = post(proxy, CHAT, ask("nobody home"))
    assert s == 502 and "upstream" in json.loads(b)["error"]["message"]
    s, _, b = post(proxy, "/v1/files", {"x": 1})
    assert s == 502
    stats = json.loads(urllib.request.urlopen(proxy.url + "/logcache/stats").read())
    assert stats["proxy"]["upstreamErrors"] == 2 and stats["store"]["entries"] == 0


def test_upstream_silence_and_return_logged_once_each(start_proxy):
    from conftest import free_port
    from fake_upstream import Upstream
    port = free_port()
    proxy = start_proxy(f"http://127.0.0.1:{port}")
    for i in range(3):
        s, _, _ = post(proxy, CHAT, ask(f"while down {i}"))
        assert s == 502
    back = Upstream(port=port)
    try:
        s, h, _ = post(proxy, CHAT, ask("back again"))
        assert s == 200 and h["X-LogCache"] == "miss"
        s, _, _ = post(proxy, CHAT, ask("and again"))
        assert s == 200
    finally:
        back.stop()
    proxy.stop()
    silent = [l for l in proxy.lines if "does not answer" in l]
    answers = [l for l in proxy.lines if "answers again" in l]
    assert len(silent) == 1 and "warning" in silent[0] and str(port) in silent[0]
    assert len(answers) == 1 and "notice" in answers[0]


def test_insecure_upstream_refused(tmp_path):
    out = subprocess.run([proxy_binary(), "--store", str(tmp_path / "s"), "--upstream", "http://example.com"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "allow-insecure-upstream" in out.stderr


def test_one_log_line_per_request(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, ask("log"))
    post(proxy, CHAT, ask("log"))
    proxy.stop()
    lines = [l for l in proxy.lines if CHAT in l]
    assert len(lines) == 2 and " 200 miss " in lines[0] and " 200 hit " in lines[1] and lines[1].endswith("ms")


def test_log_lines_reach_the_output_while_the_proxy_runs(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    seen = []

    def read_until_the_request():
        for line in proxy.process.stdout:
            seen.append(line)
            if CHAT in line:
                return

    reader = threading.Thread(target=read_until_the_request, daemon=True)
    reader.start()
    post(proxy, CHAT, ask("soon"))
    # Lines are written in batches every 50 ms: the request's line comes while the proxy runs.
    reader.join(timeout=5)
    assert any(CHAT in l and " 200 miss " in l for l in seen), seen


def test_large_and_repeated_bodies_are_keyed_alike(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    big = ask("big", padding="p" * (100 << 10))
    assert post(proxy, CHAT, big)[1]["X-LogCache"] == "miss"
    assert post(proxy, CHAT, big)[1]["X-LogCache"] == "hit"
    # The same request spelled otherwise after the exact bytes were seen: the same entry.
    reordered = json.dumps(dict(reversed(list(ask("small").items())))).encode()
    assert post(proxy, CHAT, ask("small"))[1]["X-LogCache"] == "miss"
    assert post(proxy, CHAT, ask("small"))[1]["X-LogCache"] == "hit"
    assert post(proxy, CHAT, None, raw=reordered)[1]["X-LogCache"] == "hit"
    # One byte of difference in a value: another entry.
    assert post(proxy, CHAT, ask("smalL"))[1]["X-LogCache"] == "miss"
    assert upstream.count(CHAT) == 3


def test_openai_client_gets_the_same_objects_from_a_hit(upstream, start_proxy):
    openai = pytest.importorskip("openai")
    proxy = start_proxy(upstream.url)
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="test-key", max_retries=0)
    messages = [{"role": "user", "content": "client"}]
    first = client.chat.completions.create(model="fake", messages=messages, temperature=0)
    second = client.chat.completions.create(model="fake", messages=messages, temperature=0)
    assert first.model_dump() == second.model_dump()
    assert upstream.count(CHAT) == 1
    chunks = [c.model_dump() for c in client.chat.completions.create(model="fake", messages=messages, stream=True)]
    again = [c.model_dump() for c in client.chat.completions.create(model="fake", messages=messages, stream=True)]
    assert chunks == again and len(chunks) > 1 and upstream.count(CHAT) == 2


def open_stream(proxy, body):
    import http.client
    from urllib.parse import urlparse
    u = urlparse(proxy.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", CHAT, body=json.dumps(body), headers={"Content-Type": "application/json"})
    return conn, conn.getresponse()


def test_streams_arrive_live_and_joiners_get_them_too(upstream, start_proxy):
    import time
    proxy = start_proxy(upstream.url)
    body = ask("one two three four five six", stream=True, pace=0.25)
    start = time.monotonic()
    conn, r = open_stream(proxy, body)
    first = r.readline()
    first_at = time.monotonic() - start
    assert first.startswith(b"data: ") and r.headers["X-LogCache"] == "miss"
    # A second identical request joins the call in flight and gets every event.
    joined = {}
    t = threading.Thread(target=lambda: joined.update(result=read_stream(proxy, body)))
    t.start()
    rest = r.read()
    total = time.monotonic() - start
    t.join()
    conn.close()
    assert first_at < total / 2, (first_at, total)
    assert joined["result"][2] == first + rest
    assert upstream.count(CHAT) == 1
    _, _, again = read_stream(proxy, body)
    assert again == first + rest and upstream.count(CHAT) == 1


def test_a_stream_goes_on_when_its_first_client_leaves(upstream, start_proxy):
    import time
    proxy = start_proxy(upstream.url)
    body = ask("leaving early but stored anyway", stream=True, pace=0.1)
    conn, r = open_stream(proxy, body)
    assert r.readline().startswith(b"data: ")
    conn.close()
    time.sleep(1.5)
    marker, _, replay = read_stream(proxy, body)
    assert marker == "hit" and replay.endswith(b"data: [DONE]\n\n") and upstream.count(CHAT) == 1


def test_metrics(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, ask("metrics"))
    post(proxy, CHAT, ask("metrics"))
    with urllib.request.urlopen(proxy.url + "/metrics") as r:
        text = r.read().decode()
    assert 'logcache_proxy_requests_total{outcome="hit"} 1' in text
    assert 'logcache_proxy_requests_total{outcome="miss"} 1' in text
    assert "logcache_store_entries 1" in text and "# HELP logcache_proxy_upstream_errors_total" in text


def test_tls_upstream_with_a_private_ca(start_proxy, tmp_path):
    from fake_upstream import Upstream
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    secure = Upstream(tls=(str(cert), str(key)))
    try:
        trusted = start_proxy(secure.url, "--upstream-ca", str(cert), store=str(tmp_path / "a"))
        s, h, b = post(trusted, CHAT, ask("over tls"))
        assert s == 200 and h["X-LogCache"] == "miss" and b"answer 1" in b
        # Without the CA the upstream's certificate is not trusted: a 502, nothing stored.
        untrusted = start_proxy(secure.url, store=str(tmp_path / "b"))
        s, _, b = post(untrusted, CHAT, ask("over tls"))
        assert s == 502 and secure.count(CHAT) == 1
    finally:
        secure.stop()
    bad = subprocess.run([proxy_binary(), "--store", str(tmp_path / "c"), "--upstream", "https://127.0.0.1:1",
                          "--upstream-ca", str(tmp_path / "missing.pem")], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "upstream-ca" in bad.stderr


def test_a_huge_max_age_is_taken_as_two_to_the_31(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    post(proxy, CHAT, ask("age"))
    _, h, _ = post(proxy, CHAT, ask("age"), headers={"Cache-Control": "max-age=99999999999999999999999"})
    assert h["X-LogCache"] == "hit"
    _, h, _ = post(proxy, CHAT, ask("age"), headers={"Cache-Control": "max-age=9223372036854775807"})
    assert h["X-LogCache"] == "hit"


def test_a_joiner_does_not_get_another_clients_refusal(upstream, start_proxy):
    upstream.delay = 0.4
    proxy = start_proxy(upstream.url)
    results = {}
    bad = threading.Thread(target=lambda: results.update(bad=post(proxy, CHAT, ask("keys"), headers={"Authorization": "Bearer bad"})))
    bad.start()
    import time
    time.sleep(0.1)
    good = post(proxy, CHAT, ask("keys"), headers={"Authorization": "Bearer good"})
    bad.join()
    assert results["bad"][0] == 401
    assert good[0] == 200 and b"answer" in good[2]
    _, h, _ = post(proxy, CHAT, ask("keys"))
    assert h["X-LogCache"] == "hit"


def test_a_compressed_answer_is_passed_on_but_not_stored(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    for _ in range(2):
        request = urllib.request.Request(proxy.url + CHAT, data=json.dumps(ask("gz", gzip=True)).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            import gzip
            assert json.loads(gzip.decompress(r.read()))["object"] == "chat.completion"
    assert upstream.count(CHAT) == 2


def test_an_error_to_a_streamed_request_keeps_its_json_type(upstream, start_proxy):
    proxy = start_proxy(upstream.url)
    s, h, b = post(proxy, CHAT, ask("no stream", stream=True, json_error_for_stream=True))
    assert s == 400 and h["Content-Type"] == "application/json" and json.loads(b)["error"]["message"] == "stream refused"


def test_upstream_timeout_is_checked(tmp_path):
    out = subprocess.run([proxy_binary(), "--store", str(tmp_path / "s"), "--upstream", "http://127.0.0.1:1",
                          "--upstream-timeout", "0"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "upstream-timeout" in out.stderr


def test_two_machines_through_redis(upstream, start_proxy, tmp_path, redis_url):
    # Two proxies with stores of their own stand for two machines; Redis is the shared tier.
    a = start_proxy(upstream.url, "--redis", redis_url, store=str(tmp_path / "a"))
    b = start_proxy(upstream.url, "--redis", redis_url, store=str(tmp_path / "b"))
    s, h, first = post(a, CHAT, ask("across machines"))
    assert s == 200 and h["X-LogCache"] == "miss"
    s, h, second = post(b, CHAT, ask("across machines"))
    assert s == 200 and h["X-LogCache"] == "hit" and second == first
    assert upstream.count(CHAT) == 1
    stats = json.loads(urllib.request.urlopen(b.url + "/logcache/stats").read())
    assert stats["sharedTier"]["hits"] == 1 and stats["store"]["entries"] == 1
    metrics = urllib.request.urlopen(b.url + "/metrics").read().decode()
    assert "logcache_shared_tier_hits 1" in metrics and "logcache_shared_tier_reachable 1" in metrics


def test_redis_down_proxy_works_locally(upstream, start_proxy):
    from conftest import free_port
    proxy = start_proxy(upstream.url, "--redis", f"redis://127.0.0.1:{free_port()}/0")
    s, h, _ = post(proxy, CHAT, ask("no redis"))
    assert s == 200 and h["X-LogCache"] == "miss"
    s, h, _ = post(proxy, CHAT, ask("no redis"))
    assert s == 200 and h["X-LogCache"] == "hit"
    stats = json.loads(urllib.request.urlopen(proxy.url + "/logcache/stats").read())
    assert stats["sharedTier"]["errors"] >= 1 and stats["sharedTier"]["reachable"] is False
    assert upstream.count(CHAT) == 1
