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
An MQTT 5 connection (paho-mqtt) that reports what happens and says plainly what is wrong.

paho runs the connection on a thread of its own and reconnects with a growing delay. This class
turns its callbacks into events for one consumer (notify: connected, subscribed, disconnected,
ack, message),
keeps the last problem in words (`problem`, and whether it is an error: TLS files, a refused
handshake, wrong credentials; or only a broker that is not there), and gives the last will a
fresh id before every connection attempt, so that a receiver that drops duplicates by id never
drops a second will.

paho-mqtt 2.x is what the project pins; 1.6 (Ubuntu 22.04 and 24.04's python3-paho-mqtt) works
too, through the same callbacks.
"""

from dataclasses import dataclass
import os
import ssl
import threading
import time
from typing import Callable, List, Optional, Tuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PAHO_2 = hasattr(mqtt, 'CallbackAPIVersion')

#: How long a configuration that cannot be used (TLS files, password file) waits for a retry.
CONFIG_RETRY_S = 30.0


@dataclass(frozen=True)
class LinkConfig:
    """Where the broker is and how to log in."""

    host: str
    port: int
    client_id: str
    keepalive: int = 15
    username: str = ''
    password_file: str = ''
    tls: bool = False
    ca: str = ''
    cert: str = ''
    key: str = ''
    reconnect_max_s: int = 10
    #: A receiver keeps its session (subscriptions, messages queued for it) across
    #: reconnections; a sender starts clean (the outbox is its memory).
    clean_start: bool = True
    session_expiry_s: int = 0

    @property
    def broker(self) -> str:
        """Return host:port."""
        return f'{self.host}:{self.port}'


def json_properties() -> Properties:
    """Return the MQTT 5 properties of a JSON publication (content type, UTF-8 payload)."""
    properties = Properties(PacketTypes.PUBLISH)
    properties.ContentType = 'application/json'
    properties.PayloadFormatIndicator = 1
    return properties


def binary_properties(content_type: str) -> Properties:
    """Return the MQTT 5 properties of a binary publication of a content type."""
    properties = Properties(PacketTypes.PUBLISH)
    properties.ContentType = content_type
    properties.PayloadFormatIndicator = 0
    return properties


def _reason_text(reason) -> str:
    return getattr(reason, 'getName', lambda: str(reason))() if reason is not None else ''


def _failed(reason) -> bool:
    if reason is None:
        return False
    if hasattr(reason, 'is_failure'):
        return reason.is_failure
    value = getattr(reason, 'value', reason)
    try:
        return int(value) >= 0x80
    except (TypeError, ValueError):
        return False


class _Client(mqtt.Client):
    """paho's client, with the cause of a failed connection attempt kept, and a fresh will."""

    def __init__(self, link: 'MqttLink', **kwargs):
        super().__init__(**kwargs)
        self._link = link

    def reconnect(self):
        """Connect again (paho's loop calls this), remembering why an attempt failed."""
        self._link._refresh_will(self)
        try:
            return super().reconnect()
        except OSError as exc:
            self._link._attempt_failed(exc)
            raise


class MqttLink:
    """One MQTT connection; see the module's notes."""

    def __init__(self, config: LinkConfig, notify: Callable[[tuple], None],
                 will: Optional[Callable[[], Tuple[str, bytes]]] = None,
                 subscriptions: List[Tuple[str, int]] = ()):
        self.config = config
        self._notify = notify
        self._will = will
        self._subscriptions = list(subscriptions)
        self._client: Optional[_Client] = None
        self._lock = threading.Lock()
        self.connected = False
        #: What is wrong, in words ('' when nothing), and whether it is an error a person
        #: must fix (True) rather than a broker that is away (False).
        self.problem = ''
        self.problem_is_error = False
        self.connections = 0
        self._retry_config_at: Optional[float] = None
        self._stopped = False

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Configure the client and let paho connect in its thread; a bad setting is kept."""
        with self._lock:
            if self._stopped or self._client is not None:
                return
            try:
                client = self._make_client()
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._set_problem(f'cannot use the connection settings: {exc}', True)
                self._retry_config_at = time.monotonic() + CONFIG_RETRY_S
                return
            self._retry_config_at = None
            self._client = client
            client.connect_async(self.config.host, self.config.port, self.config.keepalive,
                                 **self._connect_options())
            client.loop_start()
            if not self.problem:
                self._set_problem(f'connecting to {self.config.broker}', False)

    def poll(self, now: float) -> None:
        """Retry a configuration that could not be used, now and then (files may appear)."""
        if self._client is None and self._retry_config_at is not None and \
                now >= self._retry_config_at:
            self.start()

    def _connect_options(self) -> dict:
        options = {'clean_start': self.config.clean_start}
        if self.config.session_expiry_s:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self.config.session_expiry_s
            options['properties'] = properties
        return options

    def _make_client(self) -> _Client:
        cfg = self.config
        kwargs = {'client_id': cfg.client_id, 'protocol': mqtt.MQTTv5}
        if PAHO_2:
            kwargs['callback_api_version'] = mqtt.CallbackAPIVersion.VERSION2
        client = _Client(self, **kwargs)
        if cfg.tls:
            for name, path in (('CA', cfg.ca), ('certificate', cfg.cert), ('key', cfg.key)):
                if path and not os.path.isfile(path):
                    raise OSError(f'TLS {name} file {path} not found')
            if bool(cfg.cert) != bool(cfg.key):
                raise ValueError('TLS needs both a client certificate and its key, or neither')
            client.tls_set(ca_certs=cfg.ca or None, certfile=cfg.cert or None,
                           keyfile=cfg.key or None, cert_reqs=ssl.CERT_REQUIRED)
        if cfg.username:
            password = None
            if cfg.password_file:
                with open(cfg.password_file, encoding='utf-8') as stream:
                    password = stream.read().strip()
            client.username_pw_set(cfg.username, password)
        client.reconnect_delay_set(1, max(1, cfg.reconnect_max_s))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        client.on_log = self._on_log
        return client

    def stop(self, last: Optional[Tuple[str, bytes]] = None, timeout: float = 2.0) -> None:
        """Publish a last retained message (an offline status) if connected, then disconnect."""
        with self._lock:
            self._stopped = True
            client = self._client
        if client is None:
            return
        if last is not None and self.connected:
            try:
                info = client.publish(last[0], last[1], qos=1, retain=True,
                                      properties=json_properties())
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass  # the connection went meanwhile: the will says offline instead
        client.disconnect()
        # paho's thread may be inside a connection attempt (up to its connect timeout): wait
        # a little, not for that; it is a daemon thread and ends with the process.
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(1.0)

    # --- sending -----------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                properties: Optional[Properties] = None) -> Optional[int]:
        """Hand a message (JSON unless properties say else) to paho; its mid, or None."""
        client = self._client
        if client is None or not self.connected:
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain,
                              properties=properties or json_properties())
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return info.mid

    # --- paho's callbacks (its network thread) ----------------------------------------------

    def _refresh_will(self, client: _Client) -> None:
        if self._will is not None:
            will_topic, payload = self._will()
            client.will_set(will_topic, payload, qos=1, retain=True,
                            properties=json_properties())

    def _attempt_failed(self, exc: OSError) -> None:
        if isinstance(exc, ssl.SSLError):
            self._set_problem(f'TLS handshake with {self.config.broker} failed: {exc}', True)
        else:
            self._set_problem(f'broker {self.config.broker} unreachable: {exc}', False)

    def _on_connect_fail(self, *_args) -> None:
        self._notify(('disconnected', self.problem))

    def _on_connect(self, _client, _userdata, flags, reason, *_rest) -> None:
        if _failed(reason):
            self.connected = False
            hint = ''
            if 'authori' in _reason_text(reason).lower() or 'password' in \
                    _reason_text(reason).lower():
                hint = ' (check the username, the password file and the client certificate)'
            self._set_problem(f'broker {self.config.broker} refused the connection: '
                              f'{_reason_text(reason)}{hint}', True)
            return
        self.connected = True
        self.connections += 1
        self._set_problem('', False)
        if self._subscriptions:
            self._client.subscribe(self._subscriptions)  # one SUBACK for them all
        session = flags.session_present if hasattr(flags, 'session_present') else \
            bool(flags.get('session present'))
        self._notify(('connected', session))

    def _on_disconnect(self, _client, _userdata, *args) -> None:
        # paho 2: (flags, reason, properties); paho 1.6 with MQTT 5: (reason, properties).
        reason = args[1] if PAHO_2 else args[0]
        was = self.connected
        self.connected = False
        if was and not self._stopped:
            self._set_problem(f'connection to {self.config.broker} lost: '
                              f'{_reason_text(reason)}', self.problem_is_error)
        self._notify(('disconnected', self.problem))

    def _on_publish(self, _client, _userdata, mid, *args) -> None:
        reason = args[0] if args else None
        self._notify(('ack', mid, not _failed(reason), _reason_text(reason)))

    def _on_subscribe(self, *_args) -> None:
        self._notify(('subscribed',))

    def _on_message(self, _client, _userdata, message) -> None:
        self._notify(('message', message.topic, bytes(message.payload), bool(message.retain)))

    def _on_log(self, _client, _userdata, level, text) -> None:
        # TLS 1.3 refuses a client certificate after the handshake: the broker's alert shows
        # only in paho's log (its other errors are of a connection that is away, said already).
        upper = str(text).upper()
        if level == mqtt.MQTT_LOG_ERR and ('ALERT' in upper or 'CERTIFICATE' in upper):
            self._set_problem(f'{self.config.broker} refused the TLS session: {text}', True)

    def _set_problem(self, text: str, is_error: bool) -> None:
        self.problem, self.problem_is_error = text, is_error
