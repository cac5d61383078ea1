"""Download Nielsen's ``mnist.pkl.gz`` into a local cache.

The default address is the file in the public repository of Nielsen's book
code (``data/mnist.pkl.gz``; referenced as such by third-party projects). No
SHA-256 of that file could be verified from here, so none is built in: the
download is checked by structure (it must hold 50,000/10,000/10,000 images of
784 pixels) and its digest is returned, and callers who know the digest pass
``sha256=`` to have it enforced.

The file is a pickle, and a pickle is code. Its structure is checked with
:func:`wdecay.datasets.safepickle.read_mnist_pickle`, which admits only numpy
arrays, dtypes and tuples, so a hostile server (or a redirect to one) cannot
run anything. The response is streamed with a size limit, and ``timeout`` is a
deadline for the whole download, not for each network read.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request

from .._files import atomic_write
from .._validation import check_scalar
from .safepickle import read_mnist_pickle

MNIST_URL = ("https://github.com/mnielsen/neural-networks-and-deep-learning/"
             "raw/master/data/mnist.pkl.gz")
EXPECTED_SIZES = (50_000, 10_000, 10_000)
MAX_DOWNLOAD = 64 * 2**20  # Nielsen's file is about 17 MB
CHUNK = 1 << 16


def default_cache_dir():
    """``$WDECAY_DATA`` or ``~/.cache/wdecay``."""
    env = os.environ.get("WDECAY_DATA")
    if env and (env.endswith((".gz", ".pkl")) or os.path.isfile(env)):  # it names the file itself
        env = os.path.dirname(os.path.abspath(env))
    return env or os.path.join(os.path.expanduser("~"), ".cache", "wdecay")


def download_mnist(cache_dir=None, *, url=MNIST_URL, sha256=None, expected_sizes=EXPECTED_SIZES,
                   timeout=60.0, force=False, max_bytes=MAX_DOWNLOAD):
    """Fetch ``mnist.pkl.gz`` into ``cache_dir`` and return ``(path, sha256_hex)``.

    The bytes are written atomically only after they pass the checks: the
    SHA-256 if ``sha256`` is given, and the structure (three splits of
    ``expected_sizes`` rows, 784 columns), read with the restricted unpickler
    (a pickle is code; this one is never given the chance to run).

    A cached file is reused unless ``force``. It is trusted only if its digest
    matches the one recorded beside it (``mnist.pkl.gz.sha256``) when it was
    checked; a cached file without that record is checked as a download would
    be, and a corrupt one raises instead of being returned.

    Parameters
    ----------
    cache_dir : str or path, optional
        Default ``$WDECAY_DATA`` or ``~/.cache/wdecay``.
    url : str
        An ``http://`` or ``https://`` address; redirects may only lead to such addresses.
    sha256 : str, optional
        The expected digest of the file.
    expected_sizes : tuple of int or None
        Rows of training, validation and test; None skips the size check.
    timeout : float
        Seconds for the whole download (connection, redirects and body).
    force : bool
        Download even if a cached file exists.
    max_bytes : int
        The largest response accepted, in bytes.

    Raises
    ------
    ValueError
        On a digest mismatch, an oversized response or a file that is not
        MNIST-shaped; nothing is written.
    ConnectionError
        When the server cannot be reached (offline) or answers with an HTTP error.
    TimeoutError
        When the download takes longer than ``timeout`` seconds in total.
    """
    check_scalar(timeout, "timeout", low=0, inclusive=False)
    check_scalar(max_bytes, "max_bytes", low=1)
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"`url` must be an http:// or https:// address, got {url!r}")
    cache_dir = default_cache_dir() if cache_dir is None else os.fspath(cache_dir)
    _make_cache_dir(cache_dir)
    path = os.path.join(cache_dir, "mnist.pkl.gz")
    if os.path.exists(path) and not force:
        return path, _check_cached(path, sha256, expected_sizes)
    data = fetch(url, timeout=timeout, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    _check_digest(digest, sha256, url)
    _check_structure(data, expected_sizes, url)
    atomic_write(path, data)
    atomic_write(path + ".sha256", (digest + "\n").encode())
    return path, digest


def _make_cache_dir(cache_dir):
    """Create ``cache_dir``; a file in its place (or on its path) is a one-line error."""
    if os.path.exists(cache_dir) and not os.path.isdir(cache_dir):
        raise NotADirectoryError(f"`cache_dir` must be a folder, got the file {cache_dir!r}; "
                                 "pass a folder (mnist.pkl.gz is saved inside it)")
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as exc:
        raise type(exc)(f"`cache_dir` {cache_dir!r} cannot be created: {exc.strerror or exc}; "
                        "pass a folder you can write to") from None


def _check_cached(path, sha256, expected_sizes):
    with open(path, "rb") as fh:
        data = fh.read()
    digest = hashlib.sha256(data).hexdigest()
    _check_digest(digest, sha256, path)
    try:
        with open(path + ".sha256") as fh:
            recorded = fh.read().strip()
    except OSError:
        recorded = None
    if recorded != digest:
        try:
            _check_structure(data, expected_sizes, repr(path))
        except ValueError as exc:
            raise ValueError(f"the cached {path!r} is corrupt or not Nielsen's file ({exc}); "
                             "delete it, or call download_mnist(force=True)") from None
        atomic_write(path + ".sha256", (digest + "\n").encode())
    return digest


def _check_structure(data, expected_sizes, source):
    parts = read_mnist_pickle(data, name=source)
    if not isinstance(parts, tuple) or len(parts) != 3 or any(
            not isinstance(p, tuple) or len(p) != 2 for p in parts):
        raise ValueError(f"{source} is not a (training, validation, test) tuple of (X, y) pairs")
    sizes = tuple(len(X) for X, _ in parts)
    if expected_sizes is not None and sizes != tuple(expected_sizes):
        raise ValueError(f"{source} gave splits of {sizes} rows, expected {tuple(expected_sizes)}")
    if any(X.ndim != 2 or X.shape[1] != 784 or len(y) != len(X) for X, y in parts):
        raise ValueError(f"{source} gave images that are not (n, 784) with one label each")


def _check_digest(digest, expected, source):
    if expected is not None and digest != expected.lower():
        raise ValueError(f"SHA-256 mismatch for {source}: expected {expected}, got {digest}")


class _Deadline:
    """Shuts down every socket of a download when its time is up, waking blocked reads."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.sockets, self.expired = [], False
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True

    def remaining(self):
        return self.end - time.monotonic()

    def add(self, sock):
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self):
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)

    def check(self):
        if self.expired or self.remaining() <= 0:
            raise TimeoutError


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _opener(deadline):
    def connect(conn, base):
        conn.timeout = max(min(conn.timeout or deadline.seconds, deadline.remaining()), 1e-3)
        base.connect(conn)
        deadline.add(conn.sock)

    class HTTP(http.client.HTTPConnection):
        def connect(self):
            connect(self, http.client.HTTPConnection)

    class HTTPS(http.client.HTTPSConnection):
        def connect(self):
            connect(self, http.client.HTTPSConnection)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTP, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPS, req, context=self._context)

    class Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = 5

        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if not newurl.lower().startswith(("http://", "https://")):
                raise ValueError(f"refusing a redirect from {req.full_url} to {newurl!r}: "
                                 "only http:// and https:// are followed")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler, Redirects)


def fetch(url, *, timeout=60.0, max_bytes=MAX_DOWNLOAD):
    """Return the bytes at ``url``, read within ``timeout`` seconds in total and ``max_bytes``.

    Raises
    ------
    TimeoutError, ConnectionError, ValueError
        A slow server, an unreachable one (or an HTTP error), an oversized answer.
    """
    deadline = _Deadline(timeout)
    deadline.timer.start()
    too_slow = TimeoutError(f"downloading {url} took longer than timeout={timeout:g} s "
                            "(a total deadline); try again or raise `timeout`")
    try:
        try:
            response = _opener(deadline).open(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise ConnectionError(f"cannot download {url}: the server answered HTTP {exc.code} "
                                  f"{exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if deadline.expired or deadline.remaining() <= 0:
                raise too_slow from None
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(
                f"cannot download {url}: {reason}. Are you offline? Copy mnist.pkl.gz by hand "
                "into the folder given by wdecay.datasets.data_locations(), or use the embedded "
                "sample (wdecay.datasets.load_mnist_sample)") from None
        with response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ValueError(f"{url} announces {int(declared)} bytes, more than "
                                 f"max_bytes={max_bytes}")
            chunks, size = [], 0
            while True:
                try:
                    deadline.check()
                    chunk = response.read1(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    if deadline.expired or deadline.remaining() <= 0:
                        raise too_slow from None
                    raise ConnectionError(f"downloading {url} failed: {exc}") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"{url} sent more than max_bytes={max_bytes} bytes")
                chunks.append(chunk)
            if deadline.expired:
                raise too_slow
            if declared is not None and declared.isdigit() and size < int(declared):
                raise ConnectionError(f"downloading {url} stopped after {size} of "
                                      f"{int(declared)} bytes")
        return b"".join(chunks)
    except TimeoutError:
        raise too_slow from None
    finally:
        deadline.timer.cancel()


def main(argv=None, stream=None):
    """``python -m wdecay.datasets [--cache-dir DIR] [--url URL] [--sha256 HEX]``.

    Prints the path and SHA-256 of the checked file and returns 0, or prints one
    ``wdecay: error: ...`` line (offline, HTTP error, timeout, a bad file) and returns 2.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m wdecay.datasets",
        description="Download Nielsen's mnist.pkl.gz into the cache and check it.")
    parser.add_argument("--cache-dir", default=None,
                        help="folder for mnist.pkl.gz (default: $WDECAY_DATA or ~/.cache/wdecay)")
    parser.add_argument("--url", default=MNIST_URL, help="where to download from")
    parser.add_argument("--sha256", default=None, help="the file's expected SHA-256")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds for the whole download (default: 60)")
    parser.add_argument("--force", action="store_true", help="download even if cached")
    args = parser.parse_args(argv)
    out = sys.stdout if stream is None else stream
    try:
        path, digest = download_mnist(args.cache_dir, url=args.url, sha256=args.sha256,
                                      timeout=args.timeout, force=args.force)
    except (OSError, ValueError, TypeError) as exc:  # ConnectionError and TimeoutError are OSErrors
        print(f"wdecay: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(f"{path}  sha256 {digest}", file=out)
    return 0
