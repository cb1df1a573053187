"""Runs the measurements once bench/run.sh has started Redis, the service and
the ceiling: throughput (wrk, closed loop), then latency at half the service's
maximum (bench/openloop.py, open loop), then Redis memory (bench/memory.py).
Prints a summary table and writes it as JSON. Exits 1 if any request got an
answer other than 202 (or none), or if the generator could not keep up."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COMMENTS_PATH = "/v1/sites/{site}/comments"
# The public read: a thread of this many published comments, on its own site.
READ_SITE, READ_THREAD, READ_COMMENTS = "read", "bench-read", 20
POW_SITE = "pow"
ISSO_READ_URI, ISSO_POST_URI = "/bench-read", "/bench-post"
ISSO_CONNECTIONS = 8
# Captchas minted per service run, as a multiple of what the fastest service
# run so far (or, before the first, the ceiling's last run) would use.
MINT_MARGIN = 1.3
# Above this much CPU used by other processes during the runs, say so.
BUSY_MACHINE_CORES = 0.15


def env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


# --- processes and CPU ---------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime ticks) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def tree_ticks(pids: list[int]) -> int:
    return sum(s[1] for s in map(_stat, pids) if s is not None)


def machine_ticks() -> int:
    """Busy jiffies of all CPUs since boot (everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:8]) - values[3] - values[4]


class CpuMeter:
    """CPU used during one measurement, in cores (1.0 = one core busy), by
    the service's processes, the ceiling's, Redis, the load generator
    (children of this driver) and everything else on the machine."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = {name: process_tree(pid) for name, pid in groups.items()}

    @contextmanager
    def measure(self, into: dict[str, Any]) -> Iterator[None]:
        before = {name: tree_ticks(pids) for name, pids in self.groups.items()}
        each_before = {pid: tree_ticks([pid]) for pids in self.groups.values() for pid in pids}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0 = machine_ticks()
        wall0 = time.perf_counter()
        yield
        wall = time.perf_counter() - wall0
        busy1 = machine_ticks()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cores: dict[str, float] = {
            name: (tree_ticks(pids) - before[name]) / CLOCK_TICKS / wall
            for name, pids in self.groups.items()
        }
        cores["load generator"] = (
            after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        ) / wall
        machine = (busy1 - busy0) / CLOCK_TICKS / wall
        cores["other"] = max(0.0, machine - sum(cores.values()))
        cores["machine"] = machine
        into["cpu_cores"] = {k: round(v, 2) for k, v in cores.items()}
        # Per process, to see how SO_REUSEPORT spread the load over the workers.
        into["cpu_cores_by_process"] = {
            name: [
                round(used, 2)
                for pid in pids
                if (used := (tree_ticks([pid]) - each_before[pid]) / CLOCK_TICKS / wall) >= 0.01
            ]
            for name, pids in self.groups.items()
        }


# --- Redis state ----------------------------------------------------------------


def reset(r: redis.Redis, site: str) -> None:
    """Drop what earlier runs stored (comments, queues, rate-limit keys, live
    captchas), keeping the pre-rendered captcha pool: emptying it would make
    the service render a new one, on this machine's CPU, during the next run."""
    keep = (f"{{{site}}}:cap:pool", f"{{{site}}}:cap:lock")
    batch: list[bytes] = []
    for key in r.scan_iter(count=10_000):
        if not key.decode().endswith(keep):
            batch.append(key)
            if len(batch) >= 10_000:
                r.unlink(*batch)
                batch = []
    if batch:
        r.unlink(*batch)


def wait_for_pool(r: redis.Redis, site: str, timeout: float = 60.0) -> int:
    """The service renders its captcha pool at start; wait for it so that the
    rendering does not compete with the first measurement."""
    key = f"lb:{{{site}}}:cap:pool"
    deadline = time.monotonic() + timeout
    level, steady = 0, 0
    while time.monotonic() < deadline:
        now = int(r.llen(key))
        steady = steady + 1 if now == level and now > 0 else 0
        level = now
        if steady >= 10:  # unchanged for 2 s: the refill is done
            break
        time.sleep(0.2)
    return level


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (local URL)
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)


# --- load --------------------------------------------------------------------------


def mint(count: int, site: str, path: Path) -> Path:
    started = time.perf_counter()
    with path.open("w") as out:
        subprocess.run(
            [
                str(ROOT / ".venv/bin/loibinh"),
                "captcha",
                "mint",
                "--site",
                site,
                "--count",
                str(count),
            ],
            stdout=out,
            check=True,
            # A busy machine must not fail the preparation: the service's own
            # Redis timeout (0.5 s) is for requests, not for a bulk mint.
            env={**os.environ, "LOIBINH_REDIS__TIMEOUT": "10"},
        )
    log(f"  minted {count} captchas in {time.perf_counter() - started:.1f} s")
    return path


def fake_captchas(count: int, path: Path) -> Path:
    """Captchas of the real shape for the ceiling, which checks none."""
    with path.open("w") as out:
        for _ in range(count):
            out.write(f"{secrets.token_urlsafe(16)} ABCDE\n")
    return path


def split(path: Path, first: int) -> tuple[Path, Path]:
    lines = path.read_text().splitlines(keepends=True)
    head, tail = path.with_suffix(".warm"), path.with_suffix(".main")
    head.write_text("".join(lines[:first]))
    tail.write_text("".join(lines[first:]))
    return head, tail


def wrk(
    url: str, captchas: Path, seconds: float, threads: int, connections: int, label: str
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(HERE / "submit.lua"),
        url,
        "--",
        str(captchas),
        str(threads),
        str(HERE / "sample_comment.txt"),
        str(HERE / "sample_names.txt"),
        label,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
            return result
    raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


def wrk_plain(
    url: str,
    seconds: float,
    threads: int,
    connections: int,
    method: str = "GET",
    body: Path | None = None,
    headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """wrk with bench/request.lua: the same request again and again."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "-s",
        str(HERE / "request.lua"),
        url,
        "--",
        method,
        str(body) if body else "-",
        *headers,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
            return result
    raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


def openloop(
    url: str,
    rate: float,
    captchas: Path | None,
    seconds: float,
    warmup: float,
    connections: int,
    label: str,
    method: str = "SUBMIT",
    headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(HERE / "openloop.py"),
        url,
        "--rate",
        f"{rate:.1f}",
        "--duration",
        f"{seconds:g}",
        "--warmup",
        f"{warmup:g}",
        "--connections",
        str(connections),
        "--label",
        label,
        "--method",
        method,
        *(f"--header={h}" for h in headers),
    ]
    if captchas is not None:
        command += ["--captchas", str(captchas)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"openloop.py failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def refused(result: dict[str, Any], expected: str = "202") -> int:
    """Requests that did not get the expected status (202 for a submission):
    other statuses, socket errors, and (wrk) requests that ran out of minted
    captchas."""
    statuses = result.get("statuses", {})
    bad = sum(n for status, n in statuses.items() if status != expected)
    errors = result.get("errors", {})
    if isinstance(errors, dict):
        bad += sum(v for k, v in errors.items() if k != "status")
    else:
        bad += int(result.get("error_count", 0))
    return bad + int(result.get("exhausted", 0)) + int(result.get("captchas_short") or 0)


def http(
    method: str, url: str, body: dict[str, Any] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (local URL)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (local URL)
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def isso_comment(i: int, names: list[str], comment: str) -> dict[str, Any]:
    """Isso's POST /new body; the title saves Isso fetching the page for one."""
    return {
        "text": f"{i + 1}. {comment}",
        "author": names[i % len(names)],
        "email": f"doc.gia.isso.{i}@example.vn",
        "website": None,
        "parent": None,
        "title": "Cà Mau, 12-08-2022",
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the run --------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.redis = redis.Redis.from_url(args.redis)
        self.tmp = Path(args.tmp)
        self.service_url = args.service + COMMENTS_PATH.format(site=args.site)
        self.ceiling_url = args.ceiling + COMMENTS_PATH.format(site=args.site)
        self.threads = int(env_number("BENCH_THREADS", 2))
        self.connections = int(env_number("BENCH_CONNECTIONS", 64))
        self.duration = env_number("BENCH_DURATION", 10)
        self.warmup = env_number("BENCH_WARMUP", 3)
        self.repeats = int(env_number("BENCH_REPEATS", 3))
        self.latency_duration = env_number("BENCH_LATENCY_DURATION", self.duration)
        self.latency_warmup = env_number("BENCH_LATENCY_WARMUP", 2)
        self.last_ceiling_rps = 12_000.0
        self.best_service_rps = 0.0
        self.cpu: CpuMeter | None = None
        self.run_no = 0
        self.isso: str | None = args.isso
        self.etag = ""
        self.read_duration = env_number("BENCH_READ_DURATION", 5)
        self.read_warmup = env_number("BENCH_READ_WARMUP", 1)
        self.captcha_duration = env_number("BENCH_CAPTCHA_DURATION", 5)

    def start(self) -> None:
        wait_ready(self.args.service + "/readyz")
        wait_ready(self.args.ceiling + "/healthz")
        level = wait_for_pool(self.redis, self.args.site)
        wait_for_pool(self.redis, READ_SITE)
        log(f"service and ceiling ready; captcha pool at {level}")
        groups = {"service": self.args.service_pid, "ceiling": self.args.ceiling_pid}
        if self.args.isso_pid:
            groups["isso"] = self.args.isso_pid
        groups["redis"] = int(self.redis.info("server")["process_id"])
        self.cpu = CpuMeter(groups)
        log(f"processes measured: {self.cpu.groups}")

    def label(self, kind: str) -> str:
        self.run_no += 1
        return f"{kind}{self.run_no}"

    def throughput(self, target: str) -> dict[str, Any]:
        label = self.label(target[0])
        reset(self.redis, self.args.site)
        expected = (self.best_service_rps or self.last_ceiling_rps) * MINT_MARGIN + 500
        warm_count = math.ceil(expected * self.warmup)
        main_count = math.ceil(expected * self.duration)
        if target == "service":
            minted = mint(warm_count + main_count, self.args.site, self.tmp / f"{label}.captchas")
            warm, main = split(minted, warm_count)
            url = self.service_url
        else:
            # Never consumed, so the same file serves warm-up and measurement;
            # sized for a ceiling twice as fast as its last run.
            count = math.ceil(2 * max(self.last_ceiling_rps, 10_000) * self.duration)
            warm = main = fake_captchas(count, self.tmp / f"{label}.captchas")
            url = self.ceiling_url
        warm_result = wrk(url, warm, self.warmup, self.threads, self.connections, label + "w")
        assert self.cpu is not None
        extra: dict[str, Any] = {}
        with self.cpu.measure(extra):
            result = wrk(url, main, self.duration, self.threads, self.connections, label)
        result.update(extra)
        result["warmup_refused"] = refused(warm_result)
        result["refused"] = refused(result) + result["warmup_refused"]
        if target == "ceiling":
            self.last_ceiling_rps = result["rps"]
        else:
            self.best_service_rps = max(self.best_service_rps, result["rps"])
        # CPU time per answered request: steadier than req/s on a shared machine.
        result["cpu_us_per_request"] = round(
            result["cpu_cores"][target] * 1e6 / max(1.0, result["rps"]), 1
        )
        latency = result["latency_us"]
        log(
            f"  {target:8} max  {result['rps']:9.1f} req/s"
            f"  p50 {latency['p50'] / 1e3:.2f} ms  p99 {latency['p99'] / 1e3:.2f} ms"
            f"  non-202 {result['refused']}  {result['cpu_us_per_request']:.0f} us CPU/request"
            f"  cores {result['cpu_cores']}, per process {result['cpu_cores_by_process'][target]}"
        )
        return result

    def latency(self, target: str, rate: float) -> dict[str, Any]:
        label = self.label(target[0])
        reset(self.redis, self.args.site)
        captchas = None
        url = self.ceiling_url
        if target == "service":
            count = math.ceil(rate * (self.latency_warmup + self.latency_duration) * 1.05) + 200
            captchas = mint(count, self.args.site, self.tmp / f"{label}.captchas")
            url = self.service_url
        assert self.cpu is not None
        extra: dict[str, Any] = {}
        with self.cpu.measure(extra):
            result = openloop(
                url,
                rate,
                captchas,
                self.latency_duration,
                self.latency_warmup,
                self.connections,
                label,
            )
        result.update(extra)
        result["refused"] = refused(result)
        latency, corrected, lag = result["latency_ms"], result["corrected_ms"], result["lag_ms"]
        log(
            f"  {target:8} {rate:.0f}/s  achieved {result['achieved_rate']:.1f}"
            f"  p50 {latency['p50']:.2f} ms  p99 {latency['p99']:.2f} ms"
            f"  (from schedule: p99 {corrected['p99']:.2f} ms; lag p99 {lag['p99']:.2f} ms)"
            f"  non-202 {result['refused']}  generator {result['generator_cpu']} cores"
            f"  {target} per process {result['cpu_cores_by_process'][target]}"
            f"  other {result['cpu_cores']['other']}"
        )
        return result

    def profile(self, out_dir: Path) -> list[str]:
        """An extra, unmeasured service run at full load with py-spy sampling
        every service worker (BENCH_PROFILE=1; py-spy must be installed)."""
        spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
        if not Path(spy).exists():
            log("BENCH_PROFILE: no py-spy (`.venv/bin/pip install py-spy`); skipped")
            return []
        reset(self.redis, self.args.site)
        expected = (self.best_service_rps or self.last_ceiling_rps) * MINT_MARGIN + 500
        seconds = self.duration + 2
        captchas = mint(
            math.ceil(expected * seconds), self.args.site, self.tmp / "profile.captchas"
        )
        # The supervisor's children that serve (not multiprocessing's resource
        # tracker); with one worker, the supervisor serves itself.
        workers = [
            pid
            for pid in process_tree(self.args.service_pid)
            if (_stat(pid) or (0, 0))[0] == self.args.service_pid
            and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ] or [self.args.service_pid]
        written, spies = [], []
        for pid in workers:
            path = out_dir / f"profile-worker-{pid}.txt"
            written.append(str(path))
            spies.append(
                subprocess.Popen(
                    [
                        spy,
                        *("record", "-p", str(pid), "-d", f"{self.duration:g}", "-r", "200"),
                        *("--native", "-f", "raw", "-o", str(path)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wrk(self.service_url, captchas, seconds, self.threads, self.connections, "prof")
        for spy_process in spies:
            spy_process.wait(30)
        log(f"  profiles (py-spy raw, collapsed stacks): {', '.join(written)}")
        return written

    # --- the public read, the captcha and Isso ---------------------------------

    def seed_thread(self) -> None:
        """READ_COMMENTS published comments on one thread of the `read` site
        (post-moderation, screening that holds nothing), posted over HTTP like
        any other; the ceiling gets the service's own answer to serve, and Isso
        the same texts."""
        captchas = mint(READ_COMMENTS, READ_SITE, self.tmp / "read.captchas")
        names = [n for n in (HERE / "sample_names.txt").read_text("utf-8").splitlines() if n]
        comment = (HERE / "sample_comment.txt").read_text("utf-8").rstrip()
        base = self.args.service + COMMENTS_PATH.format(site=READ_SITE)
        for i, line in enumerate(captchas.read_text().splitlines()):
            captcha_id, _, answer = line.partition(" ")
            body = {
                "thread": READ_THREAD,
                "parent_id": None,
                "author": {"name": names[i % len(names)], "email": f"doc.gia.read.{i}@example.vn"},
                "body": f"{i + 1}. {comment}",
                "captcha": {"id": captcha_id, "answer": answer.strip()},
            }
            status, _, _ = http("POST", base, body)
            if status != 202:
                raise SystemExit(f"seeding the read thread: a submission got {status}")
        status, document, headers = http("GET", self.read_url)
        count = len(json.loads(document)["comments"])
        if status != 200 or count != READ_COMMENTS:
            raise SystemExit(
                f"the read thread has {count} comments ({status}), not {READ_COMMENTS}"
            )
        self.etag = headers["ETag"]
        self.redis.set(f"ceiling:{{{READ_SITE}}}:thread:{READ_THREAD}", document)
        log(f"  read thread: {count} comments, {len(document)} bytes, ETag {self.etag}")
        if self.isso:
            for i in range(READ_COMMENTS):
                status, _, _ = http(
                    "POST", self.isso_url("/new", ISSO_READ_URI), isso_comment(i, names, comment)
                )
                if status != 201:
                    raise SystemExit(f"seeding Isso's thread: /new answered {status}")
            status, document, _ = http("GET", self.isso_url("/", ISSO_READ_URI))
            count = len(json.loads(document)["replies"])
            if count != READ_COMMENTS:
                raise SystemExit(f"Isso's thread has {count} comments, not {READ_COMMENTS}")
            log(f"  Isso's thread: {count} comments, {len(document)} bytes")

    def isso_url(self, path: str, uri: str) -> str:
        return f"{self.isso}{path}?uri={urllib.parse.quote(uri, safe='')}"

    @property
    def read_url(self) -> str:
        return f"{self.args.service}/v1/sites/{READ_SITE}/threads/{READ_THREAD}/comments"

    def read(self, target: str) -> dict[str, Any]:
        """One closed-loop run of the same GET (or Isso's POST /new)."""
        method, body, headers, expected = "GET", None, (), "200"
        if target == "ceiling GET":
            url = f"{self.args.ceiling}/v1/sites/{READ_SITE}/threads/{READ_THREAD}/comments"
        elif target == "loibinh GET":
            url = self.read_url
        elif target == "loibinh 304":
            url, headers, expected = self.read_url, (f"If-None-Match: {self.etag}",), "304"
        elif target == "loibinh /healthz":
            url = self.args.service + "/healthz"
        elif target == "Isso GET":
            url = self.isso_url("/", ISSO_READ_URI)
        elif target == "Isso POST /new":
            url, method, expected = self.isso_url("/new", ISSO_POST_URI), "POST", "201"
            names = [n for n in (HERE / "sample_names.txt").read_text("utf-8").splitlines() if n]
            comment = (HERE / "sample_comment.txt").read_text("utf-8").rstrip()
            body = self.tmp / "isso-new.json"
            body.write_text(json.dumps(isso_comment(0, names, comment), ensure_ascii=False))
        else:
            raise ValueError(target)
        # Isso's gunicorn sync workers serve one connection at a time each: 64
        # connections would only queue (and time out) behind them.
        connections = ISSO_CONNECTIONS if target.startswith("Isso") else self.connections
        wrk_plain(url, self.read_warmup, self.threads, connections, method, body, headers)
        assert self.cpu is not None
        extra: dict[str, Any] = {}
        with self.cpu.measure(extra):
            result = wrk_plain(
                url, self.read_duration, self.threads, connections, method, body, headers
            )
        result.update(extra)
        result["refused"] = refused(result, expected)
        latency = result["latency_us"]
        log(
            f"  {target:17} {result['rps']:9.1f} req/s  p50 {latency['p50'] / 1e3:.2f} ms"
            f"  p99 {latency['p99'] / 1e3:.2f} ms  not {expected}: {result['refused']}"
            f"  cores {result['cpu_cores']}"
        )
        return result

    def fixed_rate(self, target: str, rate: float) -> dict[str, Any]:
        """Open loop at a low fixed rate, one bodiless request: a captcha
        issued (image from the pool, or a proof of work) or /healthz, the
        baseline of the same run."""
        path = {
            "captcha image": "/v1/sites/bench/captchas",
            "captcha pow": f"/v1/sites/{POW_SITE}/captchas",
            "healthz": "/healthz",
        }[target]
        method = "GET" if target == "healthz" else "POST"
        assert self.cpu is not None
        extra: dict[str, Any] = {}
        with self.cpu.measure(extra):
            result = openloop(
                self.args.service + path,
                rate,
                None,
                self.captcha_duration,
                1.0,
                8,
                target,
                method,
            )
        result.update(extra)
        result["refused"] = refused(result, "200" if target == "healthz" else "201")
        latency = result["latency_ms"]
        log(
            f"  {target:14} {rate:.0f}/s  p50 {latency['p50']:.2f} ms  p99 {latency['p99']:.2f} ms"
            f"  max {latency['max']:.2f} ms  (lag p99 {result['lag_ms']['p99']:.2f} ms)"
            f"  not 2xx {result['refused']}  other {result['cpu_cores']['other']}"
        )
        return result

    def memory(self) -> dict[str, Any] | None:
        if os.environ.get("BENCH_SKIP_MEMORY"):
            return None
        done = subprocess.run(
            [sys.executable, str(HERE / "memory.py"), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            log(f"memory.py failed:\n{done.stdout}\n{done.stderr}")
            return None
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def median_of(runs: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> float:
    return round(statistics.median(get(r) for r in runs), 3)


def context() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "service"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+dirty" if dirty else ""),
        "cpus": os.cpu_count(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def scrape(service: str) -> dict[str, dict[float, float]]:
    """The service's event-loop lag and collector pause histograms, summed
    over its workers: {series: {upper bound: cumulative count}}."""
    with urllib.request.urlopen(service + "/metrics", timeout=5) as answer:  # noqa: S310
        text = answer.read().decode()
    out: dict[str, dict[float, float]] = {}
    for line in text.splitlines():
        for name in ("loibinh_event_loop_lag_seconds_bucket", "loibinh_gc_pause_seconds_bucket"):
            if line.startswith(name + "{"):
                labels, value = line[len(name) + 1 :].rsplit("} ", 1)
                fields = dict(part.split("=", 1) for part in labels.split(","))
                bound = float(fields["le"].strip('"'))
                series = name.removesuffix("_bucket").removeprefix("loibinh_")
                if "generation" in fields:
                    series += "_gen" + fields["generation"].strip('"')
                into = out.setdefault(series, {})
                into[bound] = into.get(bound, 0.0) + float(value)
    return out


def histogram_delta(
    before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]
) -> dict[str, dict[str, float]]:
    """Per series: observations during a run, and the bucket bounds (ms) under
    which 50 %, 99 % and all of them fell."""
    out = {}
    for series, buckets in after.items():
        earlier = before.get(series, {})
        delta = sorted((b, n - earlier.get(b, 0.0)) for b, n in buckets.items())
        total = delta[-1][1] if delta else 0.0

        def bound(
            q: float, delta: list[tuple[float, float]] = delta, total: float = total
        ) -> float:
            return next((b * 1e3 for b, n in delta if n >= q * total), math.inf)

        out[series] = {
            "count": total,
            "p50_ms_under": bound(0.5),
            "p99_ms_under": bound(0.99),
            "max_ms_under": bound(1.0),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", help="base URL of loibinh")
    parser.add_argument("--ceiling", help="base URL of bench/ceiling.py")
    parser.add_argument("--isso", help="base URL of Isso under gunicorn (none: skipped)")
    parser.add_argument("--service-pid", type=int)
    parser.add_argument("--ceiling-pid", type=int)
    parser.add_argument("--isso-pid", type=int, default=0)
    parser.add_argument("--redis")
    parser.add_argument("--site", default="bench")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tmp")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--docs", type=Path, help="the benchmark page to write the table into")
    parser.add_argument(
        "--render", type=Path, help="only print (and --docs: write) the table of a saved run"
    )
    args = parser.parse_args()
    if args.render is not None:
        return render(args.render, args.docs)

    bench = Bench(args)
    about = context()
    started = time.perf_counter()
    bench.start()
    runs: dict[str, list[dict[str, Any]]] = {}

    def run(kind: str, result: dict[str, Any]) -> None:
        runs.setdefault(kind, []).append(result)

    log(
        f"accept, throughput: wrk -t{bench.threads} -c{bench.connections}, "
        f"{bench.warmup:g} s warm-up + {bench.duration:g} s, x{bench.repeats}"
    )
    for _ in range(bench.repeats):
        run("ceiling_max", bench.throughput("ceiling"))
        run("service_max", bench.throughput("service"))
        if bench.isso:
            run("isso_post", bench.read("Isso POST /new"))

    rate = env_number("BENCH_RATE", 1000)
    log(f"accept, latency: open loop at {rate:.0f} req/s, x{bench.repeats}")
    for _ in range(bench.repeats):
        run("ceiling_fixed", bench.latency("ceiling", rate))
        before = scrape(args.service)
        result = bench.latency("service", rate)
        result["runtime"] = histogram_delta(before, scrape(args.service))
        lag = result["runtime"].get("event_loop_lag_seconds", {})
        log(f"    event-loop lag during it: {lag}")
        run("service_fixed", result)

    log(
        f"public read: a thread of {READ_COMMENTS} comments, wrk, "
        f"{bench.read_warmup:g} s + {bench.read_duration:g} s, x{bench.repeats}"
    )
    bench.seed_thread()
    reads = ["ceiling GET", "loibinh GET", "loibinh 304", "loibinh /healthz"]
    if bench.isso:
        reads.append("Isso GET")
    for _ in range(bench.repeats):
        for target in reads:
            run(target, bench.read(target))

    captcha_rate = env_number("BENCH_CAPTCHA_RATE", 100)
    log(f"captcha issue: open loop at {captcha_rate:.0f}/s, 8 connections, x{bench.repeats}")
    for _ in range(bench.repeats):
        for target in ("healthz", "captcha pow", "captcha image"):
            run(target + " fixed", bench.fixed_rate(target, captcha_rate))

    if os.environ.get("BENCH_PROFILE"):
        log("profile: py-spy on each service worker, one more run at full load")
        about["profiles"] = bench.profile(args.out.parent)

    log("memory: bench/memory.py")
    memory = bench.memory()
    about["load_average_at_end"] = os.getloadavg()
    about["seconds"] = round(time.perf_counter() - started, 1)

    summary = summarise(runs, rate, captcha_rate, memory, args.workers)
    non_202 = sum(r["refused"] for kind in runs.values() for r in kind)
    # CPU that none of the bench's processes used: other work on the machine,
    # which makes every figure here lower (req/s) or higher (latency) than it is.
    other = statistics.median(r["cpu_cores"]["other"] for kind in runs.values() for r in kind)
    about["other_cpu_cores_median"] = round(other, 2)
    # The generator proves itself against the ceiling: there it must hold the rate.
    generator_ok = all(r["achieved_rate"] >= 0.97 * rate for r in runs["ceiling_fixed"])
    results = {
        "summary": summary,
        "targets": targets(summary),
        "non_2xx": non_202,
        "generator_kept_up": generator_ok,
        "context": about,
        "settings": {
            "threads": bench.threads,
            "connections": bench.connections,
            "duration_s": bench.duration,
            "warmup_s": bench.warmup,
            "repeats": bench.repeats,
            "latency_duration_s": bench.latency_duration,
            "latency_warmup_s": bench.latency_warmup,
            "read_duration_s": bench.read_duration,
            "captcha_duration_s": bench.captcha_duration,
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    rows = table(results)
    print_rows(rows, results)
    print(f"\nwritten to {args.out}")
    if args.docs is not None:
        write_docs(args.docs, rows, results)
        print(f"and the table to {args.docs}")
    if other > BUSY_MACHINE_CORES:
        print(
            f"WARNING: other processes used {other:.2f} cores (median) during the measurements; "
            "these figures are lower (req/s) and higher (latency) than this machine alone gives."
        )
    if non_202:
        print(f"FAILED: {non_202} requests got another answer than expected (per run in the JSON)")
        return 1
    if not generator_ok:
        print("FAILED: the open-loop generator did not hold the rate against the ceiling")
        return 1
    return 0


def summarise(
    runs: dict[str, list[dict[str, Any]]],
    rate: float,
    captcha_rate: float,
    memory: dict[str, Any] | None,
    workers: int,
) -> dict[str, Any]:
    """Medians over the repeats of every figure the table shows."""

    def med(kind: str, *path: str) -> float | None:
        if kind not in runs:
            return None

        def get(run: dict[str, Any]) -> float:
            value: Any = run
            for part in path:
                value = value[part]
            return float(value)

        return median_of(runs[kind], get)

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    out: dict[str, Any] = {"workers": workers, "rate": rate, "captcha_rate": captcha_rate}
    for kind in runs:
        if "rps" in runs[kind][0]:
            out[kind] = {
                "rps": med(kind, "rps"),
                "p50_ms": round((med(kind, "latency_us", "p50") or 0) / 1e3, 3),
                "p99_ms": round((med(kind, "latency_us", "p99") or 0) / 1e3, 3),
            }
            group = _group_of(kind)
            if group is not None:
                # CPU time per answered request: far steadier than req/s when
                # other processes share the machine.
                out[kind]["cpu_us_per_request"] = median_of(
                    runs[kind],
                    lambda r, g=group: r["cpu_cores"].get(g, 0.0) * 1e6 / max(1.0, r["rps"]),
                )
        else:
            out[kind] = {
                "achieved_rate": med(kind, "achieved_rate"),
                "p50_ms": med(kind, "latency_ms", "p50"),
                "p99_ms": med(kind, "latency_ms", "p99"),
                "p999_ms": med(kind, "latency_ms", "p999"),
                "max_ms": med(kind, "latency_ms", "max"),
                "p99_from_schedule_ms": med(kind, "corrected_ms", "p99"),
                "lag_p99_ms": med(kind, "lag_ms", "p99"),
                "generator_cores": med(kind, "generator_cpu"),
            }
    if "service_fixed" in runs:
        lag = [r["runtime"].get("event_loop_lag_seconds") for r in runs["service_fixed"]]
        out["service_fixed"]["loop_lag_p99_ms_under"] = statistics.median(
            x["p99_ms_under"] for x in lag if x
        )
        out["service_fixed"]["loop_lag_max_ms_under"] = statistics.median(
            x["max_ms_under"] for x in lag if x
        )

    def rps(kind: str) -> float | None:
        value: float | None = out.get(kind, {}).get("rps")
        return value

    def cpu(kind: str) -> float | None:
        value: float | None = out.get(kind, {}).get("cpu_us_per_request")
        return value

    out["ratios"] = {
        "accept_vs_ceiling": ratio(rps("service_max"), rps("ceiling_max")),
        "accept_vs_isso": ratio(rps("service_max"), rps("isso_post")),
        "read_vs_ceiling": ratio(rps("loibinh GET"), rps("ceiling GET")),
        "read_vs_isso": ratio(rps("loibinh GET"), rps("Isso GET")),
        "304_vs_healthz": ratio(rps("loibinh 304"), rps("loibinh /healthz")),
        # The same ratios from CPU time per request (the other's over loibinh's).
        "accept_vs_ceiling_cpu": ratio(cpu("ceiling_max"), cpu("service_max")),
        "accept_vs_isso_cpu": ratio(cpu("isso_post"), cpu("service_max")),
        "read_vs_ceiling_cpu": ratio(cpu("ceiling GET"), cpu("loibinh GET")),
        "read_vs_isso_cpu": ratio(cpu("Isso GET"), cpu("loibinh GET")),
        "304_vs_healthz_cpu": ratio(cpu("loibinh /healthz"), cpu("loibinh 304")),
    }
    out["memory"] = memory
    return out


def _group_of(kind: str) -> str | None:
    """Whose processes' CPU a closed-loop run's requests cost."""
    if kind.startswith(("ceiling", "loibinh", "service")):
        return "ceiling" if kind.startswith("ceiling") else "service"
    return "isso" if kind.startswith("Isso") or kind == "isso_post" else None


def targets(s: dict[str, Any]) -> dict[str, bool | None]:
    r = s["ratios"]

    def at_least(value: float | None, floor: float) -> bool | None:
        return None if value is None else value >= floor

    fixed = s.get("service_fixed", {})
    captcha = [s.get(k, {}).get("p99_ms") for k in ("captcha pow fixed", "captcha image fixed")]
    return {
        "accept >= 0.40 of the ceiling": at_least(r["accept_vs_ceiling"], 0.40),
        "accept >= 10x Isso": at_least(r["accept_vs_isso"], 10),
        "accept p99 < 5 ms at the fixed rate": fixed.get("p99_ms", math.inf) < 5.0,
        "read >= 0.5 of the bare GET": at_least(r["read_vs_ceiling"], 0.5),
        "read >= 40x Isso": at_least(r["read_vs_isso"], 40),
        "304 at least as fast as /healthz": at_least(r["304_vs_healthz"], 1.0),
        "captcha issue p99 < 1 ms (pow)": captcha[0] is not None and captcha[0] < 1.0,
        "captcha issue p99 < 1 ms (image)": captcha[1] is not None and captcha[1] < 1.0,
    }


Row = tuple[str, str, str]


def table(results: dict[str, Any]) -> list[Row]:
    """(measure, median, each run and the target) for the terminal and the docs."""
    s, runs = results["summary"], results["runs"]

    def each(kind: str, get: Callable[[dict[str, Any]], float], fmt: str = "{:,.0f}") -> str:
        return " / ".join(fmt.format(get(r)) for r in runs.get(kind, []))

    def rps(kind: str, name: str) -> list[Row]:
        if kind not in s:
            return []
        return [
            (
                name,
                f"{s[kind]['rps']:,.0f}",
                each(kind, lambda r: r["rps"])
                + f"; p50 {s[kind]['p50_ms']:.2f} ms, p99 {s[kind]['p99_ms']:.2f} ms"
                + (
                    f"; {s[kind]['cpu_us_per_request']:,.0f} µs CPU/request"
                    if "cpu_us_per_request" in s[kind]
                    else ""
                ),
            )
        ]

    def fixed(kind: str, name: str) -> list[Row]:
        if kind not in s:
            return []
        k = s[kind]
        return [
            (
                f"{name}: p50 / p99 ms",
                f"{k['p50_ms']:.2f} / {k['p99_ms']:.2f}",
                "p99 "
                + each(kind, lambda r: r["latency_ms"]["p99"], "{:.2f}")
                + f"; achieved {k['achieved_rate']:,.0f}/s, max {k['max_ms']:.1f} ms",
            )
        ]

    def ratio(name: str, key: str, target: str) -> list[Row]:
        value, by_cpu = s["ratios"][key], s["ratios"].get(key + "_cpu")
        if value is None:
            return []
        cpu = "" if by_cpu is None else f"; {by_cpu:.2f} by CPU time per request"
        return [(name, f"{value:.2f}", target + cpu)]

    rows: list[Row] = []
    rows += rps("ceiling_max", "accept: ceiling (pydantic + one EVALSHA), req/s")
    rows += rps("service_max", "accept: loibinh, submissions/s")
    rows += rps("isso_post", "accept: Isso POST /new, posts/s")
    rows += ratio("accept: loibinh / ceiling", "accept_vs_ceiling", "target >= 0.40")
    rows += ratio("accept: loibinh / Isso", "accept_vs_isso", "target >= 10")
    rate = s["rate"]
    rows += fixed("ceiling_fixed", f"accept at {rate:,.0f}/s open loop: ceiling")
    rows += fixed("service_fixed", f"accept at {rate:,.0f}/s open loop: loibinh (target p99 < 5)")
    if "service_fixed" in s:
        rows.append(
            (
                "  event-loop lag in loibinh during it, ms",
                f"p99 <= {s['service_fixed']['loop_lag_p99_ms_under']:g}",
                f"max <= {s['service_fixed']['loop_lag_max_ms_under']:g} "
                "(loibinh_event_loop_lag_seconds, bucket bounds)",
            )
        )
    rows += rps("ceiling GET", "read: ceiling GET of the same JSON, req/s")
    rows += rps("loibinh GET", "read: loibinh GET of 20 comments (200), req/s")
    rows += rps("loibinh 304", "read: loibinh If-None-Match (304), req/s")
    rows += rps("loibinh /healthz", "read: loibinh /healthz, req/s")
    rows += rps("Isso GET", "read: Isso GET of the same 20 comments, req/s")
    rows += ratio("read: loibinh / ceiling", "read_vs_ceiling", "target >= 0.5")
    rows += ratio("read: loibinh / Isso", "read_vs_isso", "target >= 40")
    rows += ratio("read: 304 / /healthz", "304_vs_healthz", "target >= 1")
    crate = s["captcha_rate"]
    rows += fixed("healthz fixed", f"/healthz at {crate:.0f}/s (baseline)")
    rows += fixed("captcha pow fixed", f"captcha issue, proof of work, {crate:.0f}/s")
    rows += fixed("captcha image fixed", f"captcha issue, image from the pool, {crate:.0f}/s")
    memory = s.get("memory")
    if memory:
        rows += [
            (
                "Redis B/queued comment",
                f"{memory['per_comment_bytes']:.0f}",
                memory["comment_note"],
            ),
            ("Redis B/rate-limit key", f"{memory['per_rate_key_bytes']:.0f}", "GCRA state"),
            ("Redis B/live captcha", f"{memory['per_captcha_bytes']:.0f}", "minted, unanswered"),
            ("Redis B/idempotency key", f"{memory['per_idempotency_bytes']:.0f}", "kept 24 h"),
        ]
    return rows


def print_rows(rows: list[Row], results: dict[str, Any]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'median':>13}  each run")
    for name, value, detail in rows:
        print(f"{name:<{width}}  {value:>13}  {detail}")
    print("\ntargets: " + ", ".join(f"{k}: {v}" for k, v in results["targets"].items()))
    print(f"answers other than expected: {results['non_2xx']}")
    about = results["context"]
    print(
        f"load average at start {about['load_average_at_start'][0]:.2f}, "
        f"at end {about['load_average_at_end'][0]:.2f}; other processes "
        f"{about['other_cpu_cores_median']:.2f} cores (median); {about['seconds']:.0f} s in all"
    )


def render(saved: Path, docs: Path | None) -> int:
    """The table of a saved run (its summary recomputed from its runs)."""
    results = json.loads(saved.read_text())
    s = results["summary"]
    results["summary"] = summarise(
        results["runs"], s["rate"], s["captcha_rate"], s.get("memory"), s["workers"]
    )
    results["targets"] = targets(results["summary"])
    rows = table(results)
    print_rows(rows, results)
    if docs is not None:
        write_docs(docs, rows, results)
    return 0


DOCS_START, DOCS_END = "<!-- make bench: start -->", "<!-- make bench: end -->"


def write_docs(page: Path, rows: list[Row], results: dict[str, Any]) -> None:
    """Replaces the table between the markers of the benchmark page."""
    about = results["context"]
    text = page.read_text("utf-8")
    if DOCS_START not in text or DOCS_END not in text:
        log(f"{page} has no {DOCS_START} ... {DOCS_END}: not written")
        return
    lines = [
        DOCS_START,
        "",
        f"Measured by `make bench` on {about['when']} (commit {about['commit']}), "
        f"{about['cpus']} × {about['cpu_model']}, Python {about['python']}; medians of "
        f"{results['settings']['repeats']} interleaved runs. The machine was shared with other "
        f"sessions: other processes used {about['other_cpu_cores_median']:.2f} cores (median) "
        f"during the runs, load average {about['load_average_at_start'][0]:.1f} at the start.",
        "",
        "| measure | median | each run, detail, target |",
        "| --- | --- | --- |",
        *(f"| {n.strip()} | {v} | {d} |" for n, v, d in rows),
        "",
        "Targets: "
        + "; ".join(
            f"{k}: **{'met' if v else 'missed' if v is False else 'not measured'}**"
            for k, v in results["targets"].items()
        )
        + ".",
        "",
        DOCS_END,
    ]
    head, rest = text.split(DOCS_START, 1)
    tail = rest.split(DOCS_END, 1)[1]
    page.write_text(head + "\n".join(lines) + tail, "utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
