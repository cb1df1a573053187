"""The package as an operator installs it: a wheel built from exactly what the
Docker build context holds (.dockerignore's allow-list), installed into a
virtual environment of its own and run from a directory outside the checkout.
Every kind of package data must then come from the installed package: the
defaults and word lists (service/defaults, a link to config/), the Lua
scripts, the widget's static files and the voice clips.

The build is offline and takes seconds: no build isolation (setuptools is in
the dev extras), and the new environment gets its dependencies from the
development environment through a .pth file instead of from an index."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import cli_env
from tests.redis_process import RedisProcess, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# The demo site's origin in config/default.toml.
DEMO_ORIGIN = "http://127.0.0.1:8080"


def build_context(dest: Path) -> Path:
    """Copy what .dockerignore lets into the image's build context to `dest`.

    The file is an allow-list: `*`, then `!name` for each top-level entry the
    build needs, then patterns (`**/name`) left out wherever they are. Links
    are copied as links: service/defaults -> ../config resolves only if
    config/ is let in too."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore is no longer an allow-list: update this test"
    allowed = [line[1:] for line in lines[1:] if line.startswith("!")]
    excluded = [line for line in lines[1:] if not line.startswith("!")]
    assert all("/" not in name and "*" not in name for name in allowed), allowed
    assert all(p.startswith("**/") and "/" not in p[3:] for p in excluded), excluded
    ignore = shutil.ignore_patterns(*(p[3:] for p in excluded))
    dest.mkdir()
    for name in allowed:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def files_under(top: Path) -> set[str]:
    """The files below `top` (links followed), without compiled bytecode."""
    found = set()
    for directory, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                found.add((Path(directory) / name).relative_to(top).as_posix())
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The CLI environment, minus whatever could import the checkout instead."""
    env = cli_env(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE"):
        env.pop(name, None)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a virtual environment of its own."""

    venv: Path
    elsewhere: Path  # an empty directory outside the checkout, the commands' cwd
    context: Path  # the build context the wheel was built from

    @property
    def loibinh(self) -> Path:
        return self.venv / "bin" / "loibinh"

    def python(self, code: str) -> str:
        return run([str(self.venv / "bin" / "python"), "-c", code], self.elsewhere)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    top = tmp_path_factory.mktemp("wheel")
    assert not top.is_relative_to(ROOT)
    context = build_context(top / "context")
    dist = top / "dist"
    pip = [sys.executable, "-m", "pip"]
    offline = ["--no-deps", "--no-index", "--quiet"]
    run(
        [*pip, "wheel", "--no-build-isolation", *offline, "--wheel-dir", str(dist), str(context)],
        top,
    )
    [wheel] = dist.glob("loibinh-*.whl")

    environment = top / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], top
    )
    # Plain directory lines: the development environment's own .pth files
    # (the editable install of the checkout among them) are not run.
    dependencies = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    Path(purelib.strip(), "_dev_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(dependencies)), encoding="utf-8"
    )
    run([*pip, "--python", str(python), "install", *offline, str(wheel)], top)
    elsewhere = top / "elsewhere"
    elsewhere.mkdir()
    return Installed(environment, elsewhere, context)


def test_the_wheel_installs_every_file_of_the_package(installed: Installed) -> None:
    """Whatever service/ holds in the build context, code or data, is in the
    installed package: a file no package-data glob matches fails here."""
    where = json.loads(
        installed.python(
            "import json, service, service.settings as s, service.screening.screen as w; "
            "print(json.dumps([service.__file__, str(s.DEFAULT_CONFIG), str(w.WORDS_DIR)]))"
        )
    )
    package = Path(where[0]).parent
    assert package.is_relative_to(installed.venv), where
    assert not package.is_relative_to(ROOT), where
    assert Path(where[1]) == package / "defaults" / "default.toml"
    assert Path(where[2]) == package / "defaults" / "words"

    shipped = files_under(package)
    expected = files_under(installed.context / "service")
    assert expected - shipped == set(), "not in the installed package: a package-data glob missing?"
    # The link was followed (real files under defaults/), and every kind of data is there.
    assert not (package / "defaults").is_symlink()
    for kind in ("defaults/default.toml", "defaults/words/", "store/lua/", "http/static/"):
        assert any(p.startswith(kind) for p in shipped), kind
    assert len([p for p in shipped if p.startswith("captcha/voices/")]) >= 2 * 10 * 3


def test_check_config_reads_the_installed_defaults(installed: Installed) -> None:
    summary = json.loads(
        run(
            [str(installed.loibinh), "check-config"],
            installed.elsewhere,
            clean_env(LOIBINH_MODE="development"),
        )
    )
    # The demo site exists only in config/default.toml.
    assert summary["mode"] == "development"
    assert summary["sites"] == {"demo": "pre"}


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


@pytest.fixture
def served(installed: Installed, redis_server: RedisProcess, tmp_path: Path) -> Iterator[Served]:
    """`loibinh serve` from the installed wheel, in development mode, on the
    session's Redis, stopped by its pid."""
    with redis_server.client() as direct:
        direct.script_flush()  # the service must load its scripts itself
    port = free_port()
    env = clean_env(
        LOIBINH_MODE="development",
        LOIBINH_REDIS__URL=redis_server.url,
        LOIBINH_PORT=str(port),
        LOIBINH_CAPTCHA__POOL_SIZE="2",
        LOIBINH_CAPTCHA__POOL_LOW_WATER="1",
        LOIBINH_CAPTCHA__RENDER_BATCH="2",
        LOIBINH_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(installed.loibinh), "serve"],
            cwd=installed.elsewhere,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        yield running
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


async def wait_until_up(served: Served, session: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + 30
    while True:
        if served.process.poll() is not None:
            pytest.fail(f"serve exited {served.process.returncode}:\n{served.output()}")
        assert time.monotonic() < deadline, f"/healthz never answered:\n{served.output()}"
        try:
            async with session.get(f"{served.base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)


async def test_serve_answers_from_the_installed_package(served: Served) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await wait_until_up(served, session)

        async def get(path: str, content_type: str) -> aiohttp.ClientResponse:
            response = await session.get(f"{served.base}{path}")
            await response.read()
            assert response.status == 200, (path, await response.text(), served.output())
            assert response.content_type == content_type, (path, response.headers)
            return response

        healthz = await get("/healthz", "application/json")
        assert (await healthz.json())["status"] == "ok"
        # The Lua scripts were read from the package and loaded at start.
        ready = await get("/readyz", "application/json")
        checks = (await ready.json())["checks"]
        assert (checks["redis"], checks["scripts"], checks["topology"]) == (
            "ok",
            "ok",
            "standalone",
        )
        # The demo site and its settings come from the installed default.toml.
        config = await (await get("/v1/sites/demo/config", "application/json")).json()
        assert config["captcha"]["provider"] == "image"
        assert config["locale"] == "vi"

        async with session.post(
            f"{served.base}/v1/sites/demo/captchas", headers={"Origin": DEMO_ORIGIN}
        ) as response:
            assert response.status == 201, await response.text()
            assert response.content_type == "application/json"
            challenge = await response.json()
        assert challenge["image"].startswith("data:image/png;base64,")
        # The spoken challenge is made of the installed voice clips.
        clip = await (await get(challenge["audio_url"], "audio/wav")).read()
        assert clip[:4] == b"RIFF" and clip[8:12] == b"WAVE"

        widget = await get("/widget/v1/loibinh.js", "text/javascript")
        assert b"loibinh" in await widget.read()
        # The API reference's vendored viewer and its licence ship in the package.
        await get("/docs", "text/html")
        viewer = await get("/docs/swagger-ui-bundle.js", "text/javascript")
        assert b"SwaggerUIBundle" in await viewer.read()
        licence = await get("/docs/LICENSE", "text/plain")
        assert b"Apache License" in await licence.read()

    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(served.process.wait, 15) == 0, served.output()
