# Copyright 2026 The perception authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
A mosquitto broker of our own, on a free loopback port, for the tests, the demo and benchmarks.

It runs the Debian package's mosquitto with a configuration written here (never the system
service's): one listener on 127.0.0.1, optionally TLS with client certificates and a password
file, persistence in its own folder. stop(kill=True) ends it with SIGKILL (a crash), stop() with
SIGTERM (mosquitto saves its persistence file); start() again reuses the port.

Relay sits between a client and the broker: it counts the bytes each way (what a robot sends,
MQTT overhead included) and can cut the line without closing it, as a lost network does.
"""

from dataclasses import dataclass
import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from typing import Optional

SEARCH = ('/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin')


class BrokerError(RuntimeError):
    """mosquitto is missing or would not start."""


def mosquitto_binary(name: str = 'mosquitto') -> Optional[str]:
    """Return the path of a mosquitto program (it lives in /usr/sbin on Debian), or None."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCH:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class BrokerTls:
    """The broker's TLS files; clients must show a certificate of the CA when required."""

    ca: str
    cert: str
    key: str
    require_certificate: bool = True


class Broker:
    """A mosquitto process of our own; see the module's notes."""

    def __init__(self, directory: str, port: int = 0, tls: Optional[BrokerTls] = None,
                 users: Optional[dict] = None, persistence: bool = True):
        self.binary = mosquitto_binary()
        if self.binary is None:
            raise BrokerError('mosquitto is not installed: apt-get install mosquitto (make '
                              'setup does)')
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.port = port or free_port()
        self.host = '127.0.0.1'
        self.tls = tls
        self.persistence = persistence
        self.log_path = os.path.join(self.directory, 'mosquitto.log')
        self.config_path = os.path.join(self.directory, 'mosquitto.conf')
        self.password_file = None
        if users:
            self.password_file = os.path.join(self.directory, 'passwords')
            self._write_passwords(users)
        self.process: Optional[subprocess.Popen] = None
        self._write_config()

    def _write_passwords(self, users: dict) -> None:
        tool = mosquitto_binary('mosquitto_passwd')
        if tool is None:
            raise BrokerError('mosquitto_passwd is not installed (Debian package mosquitto)')
        open(self.password_file, 'w').close()
        for user, password in users.items():
            subprocess.run([tool, '-b', self.password_file, user, password], check=True,
                           capture_output=True)

    def _write_config(self) -> None:
        lines = [f'listener {self.port} {self.host}',
                 f'allow_anonymous {"false" if self.password_file else "true"}',
                 f'log_dest file {self.log_path}',
                 'log_type error', 'log_type warning', 'log_type notice',
                 'log_type information', 'connection_messages true', 'log_timestamp true',
                 # Run as whoever started it: as root, mosquitto would switch to its own user,
                 # which may not read the files here.
                 f'user {getpass.getuser()}']
        if self.persistence:
            lines += ['persistence true', f'persistence_location {self.directory}/',
                      'autosave_interval 1']
        if self.password_file:
            lines.append(f'password_file {self.password_file}')
        if self.tls:
            lines += [f'cafile {self.tls.ca}', f'certfile {self.tls.cert}',
                      f'keyfile {self.tls.key}',
                      f'require_certificate {"true" if self.tls.require_certificate else "false"}']
        with open(self.config_path, 'w', encoding='utf-8') as stream:
            stream.write('\n'.join(lines) + '\n')

    @property
    def running(self) -> bool:
        """Tell whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 20.0) -> 'Broker':
        """Start mosquitto and wait until it accepts connections; BrokerError if it does not."""
        if self.running:
            return self
        self.process = subprocess.Popen([self.binary, '-c', self.config_path],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode('utf-8', 'replace').strip()
                raise BrokerError(f'mosquitto exited with {self.process.returncode}: '
                                  f'{error or self.log_tail()}')
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop(kill=True)
        raise BrokerError(f'mosquitto did not listen on port {self.port} within {timeout:g} s')

    def stop(self, kill: bool = False, timeout: float = 10.0) -> None:
        """End mosquitto: SIGTERM (it saves its state) or SIGKILL (a crash)."""
        if not self.running:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process.stderr.close()

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of mosquitto's log."""
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as stream:
                return ''.join(stream.readlines()[-lines:])
        except OSError:
            return ''

    def __enter__(self) -> 'Broker':
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


class Relay:
    """A TCP relay from a loopback port to a broker: counts bytes, can lose the network."""

    def __init__(self, target_port: int, target_host: str = '127.0.0.1'):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.sent = 0                         # client -> broker
        self.received = 0                     # broker -> client
        self.connections = 0
        #: While set, nothing gets through either way and nothing is closed: a lost network.
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._server = socket.create_server(('127.0.0.1', self.port))
        threading.Thread(target=self._accept, name='relay', daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, 2.0)
            except OSError:
                client.close()                # the broker is away: as if refused
                continue
            self.connections += 1
            for source, sink, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, up),
                                 daemon=True).start()

    def _pump(self, source, sink, up: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.cut.is_set():
                    continue                  # lost on the way
                sink.sendall(data)
                with self._lock:
                    if up:
                        self.sent += len(data)
                    else:
                        self.received += len(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self._server.close()
