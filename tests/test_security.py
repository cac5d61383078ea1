"""Untrusted inputs: pickles never run code, files and servers cannot exhaust memory or time.

Every HTTP test talks to a local server on 127.0.0.1 (http.server in a daemon
thread, shut down by the fixture and by a watchdog); no test uses the network.
"""

import codecs
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import socket
import struct
import subprocess
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import wdecay
from wdecay import datasets
from wdecay.compat import mnist_loader, network2
from wdecay.datasets.safepickle import read_mnist_pickle


# -- pickles that would run code ----------------------------------------------------------

class Payload:
    """Unpickling this calls ``exec``, which would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def mnist_parts(sizes=(6, 3, 3), d=784):
    rng = np.random.default_rng(0)
    return tuple((rng.random((n, d)).astype(np.float32), rng.integers(0, 10, n)) for n in sizes)


def gz_pickle(obj):
    return gzip.compress(pickle.dumps(obj, protocol=2), mtime=0)


def evil_files(tmp_path):
    """Hostile mnist.pkl.gz variants: a bare payload, and one hidden inside MNIST's structure."""
    marker = tmp_path / "MARKER"
    (train, validation, test) = mnist_parts()
    bare = gz_pickle(Payload(marker))
    nested = gz_pickle((train, validation, (test[0], Payload(marker))))
    return marker, {"bare": bare, "nested": nested}


@pytest.mark.parametrize("kind", ["bare", "nested"])
def test_load_mnist_and_compat_loader_never_run_a_pickle(tmp_path, kind):
    marker, files = evil_files(tmp_path)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(files[kind])
    with pytest.raises(ValueError, match="refusing global"):
        datasets.load_mnist(path)
    with pytest.raises(ValueError, match="refusing global"):
        mnist_loader.load_data(path)
    with pytest.raises(ValueError, match="refusing global"):
        mnist_loader.load_data_wrapper(path)
    assert not marker.exists()


def test_the_payload_really_would_run(tmp_path):
    """Control: the same bytes given to pickle.load do create the marker."""
    marker, files = evil_files(tmp_path)
    pickle.loads(gzip.decompress(files["bare"]))
    assert marker.exists()


def test_cli_dataset_file_never_runs_a_pickle(tmp_path, monkeypatch, capsys):
    """The command line's entry point, in this process (as the loaders' tests above run
    the payload's bytes in this process too)."""
    from wdecay.cli import main

    marker, files = evil_files(tmp_path)
    (tmp_path / "evil.pkl.gz").write_bytes(files["nested"])
    monkeypatch.chdir(tmp_path)
    code = main(["experiment", "--dataset", "mnist", "evil.pkl.gz", "--epochs", "1",
                 "--no-plot"])
    assert code != 0
    assert "refusing global" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize("global_name", [b"os\nsystem", b"builtins\neval", b"numpy\nload",
                                         b"numpy.lib.npyio\nload", b"subprocess\nPopen"])
def test_every_other_global_is_refused(global_name):
    blob = gzip.compress(b"\x80\x02c" + global_name + b"\n.")
    with pytest.raises(ValueError, match="refusing global"):
        read_mnist_pickle(blob)


def test_object_and_structured_arrays_are_refused():
    for array in (np.array([1, "a"], dtype=object), np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])):
        with pytest.raises(ValueError, match="not a plain numeric type|not numbers"):
            read_mnist_pickle(gz_pickle(((array, np.zeros(2, np.int64)),)))


def test_codecs_encode_is_admitted_for_latin1_only():
    class Encode:
        def __reduce__(self):
            return codecs.encode, ("abc", "rot13")

    blob = pickle.dumps(Encode(), protocol=2)
    assert b"_codecs\nencode" in blob
    with pytest.raises(ValueError, match="latin1 only"):
        read_mnist_pickle(gzip.compress(blob))


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2's str opcodes and numpy under numpy.core, like Nielsen's file."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        self.write(b"T" + struct.pack("<I", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None)
        name = name or obj.__qualname__
        if module in ("numpy._core.multiarray", "numpy.core.multiarray"):
            module = "numpy.core.multiarray"
        self.write(b"c" + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    dispatch[type] = save_global


def test_reads_a_python2_style_file(tmp_path):
    parts = mnist_parts()
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(parts)
    assert b"numpy.core.multiarray" in buf.getvalue() and b"_codecs" not in buf.getvalue()
    (tmp_path / "py2.pkl.gz").write_bytes(gzip.compress(buf.getvalue()))
    splits = datasets.load_mnist(tmp_path / "py2.pkl.gz")
    for (X, y), (X0, y0) in zip(splits, parts):
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)


# -- resource exhaustion ------------------------------------------------------------------

def peak_bytes(fn):
    """Peak traced allocation (numpy reports its buffers to tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_pickle_gzip_bomb_is_refused_within_max_bytes():
    bomb = gzip.compress(b"\x80\x02B" + struct.pack("<I", 50_000_000) + bytes(50_000_000))
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="max_bytes=1000000"):
        read_mnist_pickle(bomb, max_bytes=1_000_000)


def test_pickle_declaring_a_huge_length_is_refused():
    blob = gzip.compress(b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc")
    with pytest.raises(ValueError, match="not a readable mnist.pkl.gz"):
        read_mnist_pickle(blob)


def write_gz(path, payload):
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(payload)


def test_read_idx_never_decompresses_past_the_header_count(tmp_path):
    """A header for 10 values followed by 50 MB of zeros: refused at once, without 50 MB."""
    path = tmp_path / "bomb.gz"
    write_gz(path, struct.pack(">BBBBI", 0, 0, 8, 1, 10) + bytes(50_000_000))
    assert path.stat().st_size < 100_000
    holder = {}

    def read():
        with pytest.raises(ValueError, match="holds more data than its header") as exc:
            datasets.read_idx(path)
        holder["exc"] = exc
    assert peak_bytes(read) < 5_000_000
    assert "bomb.gz" in str(holder["exc"].value)


def test_read_idx_refuses_a_header_larger_than_the_file_before_reading(tmp_path):
    path = tmp_path / "big.gz"
    write_gz(path, struct.pack(">BBBBIII", 0, 0, 8, 3, 60000, 28, 28) + bytes(1000))
    with pytest.raises(ValueError, match=r"truncated: the header declares shape \(60000, 28, 28\)"):
        datasets.read_idx(path)
    path = tmp_path / "consistent.gz"
    write_gz(path, struct.pack(">BBBBI", 0, 0, 8, 1, 5_000_000) + bytes(5_000_000))
    with pytest.raises(ValueError, match="more than max_bytes=1000000"):
        datasets.read_idx(path, max_bytes=1_000_000)


def test_read_idx_names_the_file_for_non_gzip_input(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"not gzip at all" * 10)
    with pytest.raises(ValueError, match="plain.gz.*not a readable gzip IDX file"):
        datasets.read_idx(path)


@pytest.mark.parametrize("sizes,refusal", [
    ([5000, 5000], "mismatched: layer 1 needs weights"),
    ([60000, 60000], "3,600,060,000 parameters; wdecay loads at most 50,000,000")])
def test_load_checks_declared_sizes_before_allocating(tmp_path, sizes, refusal):
    path = tmp_path / "small.json"
    path.write_text(json.dumps({"sizes": sizes, "weights": [[[0.0]]], "biases": [[[0.0]]],
                                "cost": "CrossEntropyCost"}))
    assert path.stat().st_size < 100
    for loader in (wdecay.load, network2.load):
        with pytest.raises(ValueError, match=refusal):
            loader(path)
        assert peak_bytes(lambda: pytest.raises(ValueError, loader, path)) < 1_000_000


def test_npz_headers_are_checked_before_their_data(tmp_path):
    meta = json.dumps({"sizes": [5000, 5000], "cost": "CrossEntropyCost"})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(meta), weights_0=np.zeros((2, 2)), biases_0=np.zeros(2))
    path = tmp_path / "liar.npz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match=r"weights_0 of shape \(5000, 5000\), found \(2, 2\)"):
        wdecay.load(path)
    # a header that matches the sizes but whose data are not in the file (a zip bomb's claim)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (5000, 5000)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.npy", _npy(np.array(meta)))
        zf.writestr("weights_0.npy", header.getvalue() + bytes(1000))
        zf.writestr("biases_0.npy", _npy(np.zeros(5000)))
    assert peak_bytes(lambda: pytest.raises(ValueError, wdecay.load, path)) < 10_000_000
    with pytest.raises(ValueError, match="weights_0 declares 200000000 bytes"):
        wdecay.load(path)


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.mark.parametrize("cost", ["sys", "__builtins__", "np", "Network", "json", "load"])
def test_compat_load_accepts_only_cost_classes(tmp_path, cost):
    path = tmp_path / "n.json"
    network2.Network([3, 2]).save(str(path))
    data = json.loads(path.read_text())
    data["cost"] = cost
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"`cost` must be one of \['CrossEntropyCost', 'QuadraticCost'\]"):
        network2.load(str(path))


def test_compat_load_still_reads_its_own_files(tmp_path):
    net = network2.Network([3, 4, 2], cost=network2.QuadraticCost)
    net.save(str(tmp_path / "n.json"))
    back = network2.load(str(tmp_path / "n.json"))
    assert back.cost is network2.QuadraticCost and back.sizes == [3, 4, 2]
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)


# -- a local HTTP server ------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    routes = {}  # path -> callable(handler); set per server

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
        else:
            route(self)

    def log_message(self, *args):
        pass


def send_bytes(data, length=True):
    def route(h):
        h.send_response(200)
        if length:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True
    return route


def redirect(location):
    def route(h):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return route


def drip(n_bytes=60, every=0.2):
    """Announce a large body, then send one byte every ``every`` seconds (at most ``n_bytes``)."""
    def route(h):
        h.send_response(200)
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        try:
            for _ in range(n_bytes):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(every)
        except OSError:  # the client gave up: stop
            pass
        h.close_connection = True
    return route


def drip_headers(n_lines=60, every=0.2):
    """Send the status line, then one header line every ``every`` seconds."""
    def route(h):
        try:
            h.wfile.write(b"HTTP/1.0 200 OK\r\n")
            for i in range(n_lines):
                h.wfile.write(f"X-Slow-{i}: 1\r\n".encode())
                h.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        h.close_connection = True
    return route


@pytest.fixture
def server():
    """``(routes, base_url)``: a bounded local server; it stops at teardown or after 60 s."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.routes = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    watchdog = threading.Timer(60, httpd.shutdown)
    watchdog.daemon = True
    watchdog.start()
    yield httpd.routes, f"http://127.0.0.1:{httpd.server_address[1]}"
    watchdog.cancel()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.parametrize("kind", ["bare", "nested"])
def test_download_never_runs_a_pickle_even_behind_a_redirect(server, tmp_path, kind):
    routes, base = server
    marker, files = evil_files(tmp_path)
    routes["/direct.pkl.gz"] = send_bytes(files[kind])
    routes["/moved"] = redirect(f"{base}/direct.pkl.gz")
    for url in (f"{base}/direct.pkl.gz", f"{base}/moved"):
        with pytest.raises(ValueError, match="refusing global"):
            datasets.download_mnist(tmp_path / "cache", url=url, expected_sizes=None)
    assert not marker.exists()
    assert not (tmp_path / "cache" / "mnist.pkl.gz").exists()
    assert os.listdir(tmp_path / "cache") == []


def test_download_follows_a_redirect_to_a_good_file(server, tmp_path):
    routes, base = server
    blob = gz_pickle(mnist_parts())
    routes["/real.pkl.gz"] = send_bytes(blob)
    routes["/moved"] = redirect("/real.pkl.gz")
    path, digest = datasets.download_mnist(tmp_path, url=f"{base}/moved", expected_sizes=(6, 3, 3))
    assert digest == hashlib.sha256(blob).hexdigest()
    assert len(datasets.load_mnist(path).training[0]) == 6


def test_redirects_to_other_schemes_and_loops_are_refused(server, tmp_path):
    routes, base = server
    routes["/to-file"] = redirect("file:///etc/passwd")
    routes["/to-ftp"] = redirect("ftp://127.0.0.1:1/mnist.pkl.gz")
    routes["/loop"] = redirect("/loop")
    for name in ("/to-file", "/to-ftp"):
        with pytest.raises((ValueError, ConnectionError), match="redirect|file|ftp"):
            datasets.download_mnist(tmp_path, url=base + name, expected_sizes=None)
    with pytest.raises(ConnectionError, match="cannot download"):
        datasets.download_mnist(tmp_path, url=base + "/loop", expected_sizes=None)
    with pytest.raises(ValueError, match="`url` must be an http"):
        datasets.download_mnist(tmp_path, url="file:///etc/passwd")


def test_download_size_limit_with_and_without_content_length(server, tmp_path):
    routes, base = server
    routes["/announced"] = send_bytes(bytes(300_000))
    routes["/chunkless"] = send_bytes(bytes(300_000), length=False)
    with pytest.raises(ValueError, match="announces 300000 bytes, more than max_bytes=100000"):
        datasets.download_mnist(tmp_path, url=base + "/announced", max_bytes=100_000)
    with pytest.raises(ValueError, match="sent more than max_bytes=100000"):
        datasets.download_mnist(tmp_path, url=base + "/chunkless", max_bytes=100_000)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("route", [drip, drip_headers])
def test_timeout_is_a_total_deadline(server, tmp_path, route):
    """Each byte arrives well within the timeout; the whole download may not exceed it.

    A byte every timeout / 5, 60 of them: without a total deadline the download would
    take 12 timeouts (6 s); it must end within 2 s of its timeout, the scheduling slack
    the test had with a 1 s timeout. (The timeout is 0.5 s rather than 1 s: the test
    waits it out twice.)
    """
    routes, base = server
    timeout = 0.5
    routes["/slow"] = route(every=timeout / 5)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="longer than timeout=0.5 s"):
        datasets.download_mnist(tmp_path, url=base + "/slow", timeout=timeout)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2.0 < 12 * timeout, elapsed
    assert os.listdir(tmp_path) == []


def test_offline_download_is_one_clear_error(tmp_path):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match="cannot download .* Are you offline") as exc:
        datasets.download_mnist(tmp_path, url=f"http://127.0.0.1:{port}/mnist.pkl.gz", timeout=5)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    assert "URLError" not in str(exc.value)


def test_http_error_is_one_clear_error(server, tmp_path):
    _, base = server
    with pytest.raises(ConnectionError, match="answered HTTP 404"):
        datasets.download_mnist(tmp_path, url=base + "/missing.pkl.gz")


def test_bytes_is_admitted_only_empty():
    empty = (np.zeros((0, 784), np.float32), np.zeros(0, np.int64))
    blob = gz_pickle((empty,))
    assert b"bytes" in gzip.decompress(blob)
    assert read_mnist_pickle(blob)[0][0].shape == (0, 784)

    class Big:
        def __reduce__(self):
            return bytes, (10**12,)

    with pytest.raises(ValueError, match="without arguments only"):
        read_mnist_pickle(gz_pickle(Big()))


def test_safety_page_states_the_download_defaults():
    import inspect
    import pathlib

    page = (pathlib.Path(__file__).parents[1] / "docs" / "safety.rst").read_text()
    default = inspect.signature(datasets.download_mnist).parameters["max_bytes"].default
    assert default == 64 * 2**20 and "64 MiB by default" in page
    assert "safety" in (pathlib.Path(__file__).parents[1] / "docs" / "index.rst").read_text()


def test_deeply_nested_or_foreign_objects_are_refused_cleanly(tmp_path):
    blob = gzip.compress(b"\x80\x02" + b")" + b"\x85" * 50_000 + b".")  # 50,000 nested 1-tuples
    read_mnist_pickle(blob)  # checked without recursion
    (tmp_path / "deep.pkl.gz").write_bytes(blob)
    with pytest.raises(ValueError, match=r"must pickle a \(training, validation, test\) tuple"):
        datasets.load_mnist(tmp_path / "deep.pkl.gz")
    for obj in ({"a": 1}, "text", 3, None, [np.zeros(2), {1}]):
        with pytest.raises(ValueError, match="holds a|refusing global"):
            read_mnist_pickle(gz_pickle(obj))


@pytest.fixture
def tls_server(tmp_path):
    """A local HTTPS server with a self-signed certificate (skipped without openssl)."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for a local HTTPS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    # an EC P-256 key: made in milliseconds (an RSA-2048 key took 0.1-0.9 s, a prime search)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.routes = {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd.routes, f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_https_verifies_certificates(tls_server, tmp_path):
    routes, base = tls_server
    routes["/mnist.pkl.gz"] = send_bytes(gz_pickle(mnist_parts()))
    with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        datasets.download_mnist(tmp_path / "cache", url=base + "/mnist.pkl.gz",
                                expected_sizes=None, timeout=10)
    assert os.listdir(tmp_path / "cache") == []


# -- model, checkpoint and history files are bounded, regular files (issue 23) ----------------

class _Deadline:
    """Fail, rather than hang, if the body takes longer than ``seconds`` (SIGALRM)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def _alarm(self, signum, frame):
        raise TimeoutError(f"still reading after {self.seconds} s")

    def __enter__(self):
        import signal

        self.previous = signal.signal(signal.SIGALRM, self._alarm)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        import signal

        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)


def _npz_with_meta(path, header, chunks):
    """An .npz whose meta.npy is ``header`` then ``chunks``, streamed (never whole in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("meta.npy", "w", force_zip64=True) as fh:
            fh.write(header)
            for chunk in chunks:
                fh.write(chunk)
        zf.writestr("weights_0.npy", _npy(np.zeros((2, 3))))
        zf.writestr("biases_0.npy", _npy(np.zeros(2)))


def _meta_header(chars):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": f"<U{chars}", "fortran_order": False,
                                               "shape": ()})
    return buf.getvalue()


def test_a_compressed_meta_bomb_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "bomb.npz"
    chars = 8_000_000  # 32 MB of UTF-32 text in about 32 kB
    _npz_with_meta(path, _meta_header(chars),
                   (b"a\0\0\0" * 250_000 for _ in range(chars // 250_000)))
    assert path.stat().st_size < 200_000
    with _Deadline(20):
        assert peak_bytes(lambda: pytest.raises(ValueError, wdecay.load, path)) < 2_000_000
        with pytest.raises(ValueError, match="meta.npy declares 32000128 bytes"):
            wdecay.load(path)


def test_a_meta_that_declares_a_huge_string_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "liar.npz"
    _npz_with_meta(path, _meta_header(100_000_000), [b"{}\0\0"])
    with pytest.raises(ValueError, match="meta.npy declares a 400000000-byte string"):
        wdecay.load(path)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_model_files_that_are_not_regular_files_are_refused(tmp_path, suffix, kind):
    path = tmp_path / f"m{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        os.symlink("/dev/zero", path)
    what = {"fifo": r"a FIFO \(named pipe\)", "folder": "a directory",
            "dev-zero": "a character device"}[kind]
    with _Deadline(10):
        with pytest.raises(ValueError, match=f"is {what}, not a regular file"):
            wdecay.load(path)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_a_model_file_over_the_limit_is_refused_before_it_is_read(tmp_path, suffix):
    path = tmp_path / f"huge{suffix}"
    with open(path, "wb") as fh:
        fh.truncate((1 << 30) + 1)  # sparse: no disk space, no time
    with _Deadline(10):
        assert peak_bytes(lambda: pytest.raises(ValueError, wdecay.load, path)) < 1_000_000
        with pytest.raises(ValueError, match=r"has 1073741825 bytes, more than the 1073741824"):
            wdecay.load(path)
