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

"""Helpers for tests that start nodes in processes of their own (test/ is on sys.path)."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from perception.launcher import find_executable, stack_environment


class NodeProcess:
    """A node executable run in a child process, its output kept for assertions."""

    def __init__(self, executable, *ros_args, log_path=None, env=None):
        command = [find_executable('perception', executable)]
        if ros_args:
            command += ['--ros-args', *ros_args]
        self.log_path = log_path
        self._log = open(log_path, 'w+b') if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(command, env=dict(stack_environment(), **(env or {})),
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def output(self):
        if not self.log_path:
            return ''
        with open(self.log_path, 'rb') as stream:
            return stream.read().decode('utf-8', 'replace')

    def alive(self):
        return self.process.poll() is None

    def interrupt(self, timeout=20.0):
        """Send SIGINT and return (exit code, seconds it took)."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout)
        return code, time.monotonic() - start

    def kill(self):
        if self.alive():
            self.process.kill()
            self.process.wait(30)
        if self.log_path:
            self._log.close()


class NodeStarter:
    """Starts node processes for a test, each logging to its own file, and kills them after."""

    def __init__(self, executable, log_dir):
        self.executable = executable
        self.log_dir = log_dir
        self.started = []

    def __call__(self, *ros_args, env=None):
        log = os.path.join(str(self.log_dir), f'{self.executable}{len(self.started)}.log')
        node = NodeProcess(self.executable, *ros_args, log_path=log, env=env)
        self.started.append(node)
        return node

    def kill_all(self):
        for node in self.started:
            node.kill()


def perception_command(*args):
    return [find_executable('perception', 'perception'), *args]


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class Spinner:
    """Spins a test's listening node on a thread of its own until close()."""

    def __init__(self, node, context):
        from rclpy.executors import SingleThreadedExecutor
        self.node = node
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # noqa: B902 - the context was shut down under it
            pass

    def close(self):
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.thread.join(2.0)


LABELS = ['person', 'forklift', 'pallet', 'box']


def constant_model(path, output, height=320, width=320):
    """Write an ONNX model whose output is `output` whatever the image: known boxes."""
    import pytest
    # The venv has onnx; on a ROS install it comes from pip alone (it has no rosdep key).
    onnx = pytest.importorskip('onnx', reason='pip install onnx to build test models')
    from onnx import helper, numpy_helper, TensorProto
    x = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, height, width])
    y = helper.make_tensor_value_info('output0', TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node('ReduceSum', ['images'], ['total'], keepdims=0),
        helper.make_node('Mul', ['total', 'zero'], ['nothing']),
        helper.make_node('Add', ['boxes', 'nothing'], ['output0']),
    ]
    graph = helper.make_graph(nodes, 'constant', [x], [y], initializer=[
        numpy_helper.from_array(np.array(0.0, np.float32), 'zero'),
        numpy_helper.from_array(output.astype(np.float32), 'boxes')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def constant_manifest(directory, name, rows, labels=None, **fields):
    """Write a constant model (rows of cx, cy, w, h, class, score) and its manifest; return it."""
    import yaml
    from perception.core.model import sha256_of
    path = constant_model(os.path.join(str(directory), f'{name}.onnx'), yolov8_output(rows))
    manifest = os.path.join(str(directory), f'{name}.yaml')
    doc = {'name': name, 'file': f'{name}.onnx', 'labels': list(labels or LABELS),
           'sha256': sha256_of(path)}
    doc.update(fields)
    with open(manifest, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(doc, stream)
    return manifest


#: Boxes every constant test model sees: a person and a pallet.
SCENE = [(160, 160, 50, 100, 0, 0.9), (60, 200, 40, 40, 2, 0.7)]


def yolov8_output(rows):
    """[1, 4 + 4, N] from rows of (cx, cy, w, h, class, score)."""
    out = np.zeros((1, 8, len(rows)), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
    return out


def render_depth(mount, intrinsics, width, height, boxes=(), floor=True, max_range=10.0):
    """
    Depth image (metres, NaN for no return) of a floor and boxes seen by a camera on a robot.

    mount is the camera's perception.core.sensor_points.Mount; boxes are (xmin, xmax, ymin,
    ymax, zmin, zmax) in the robot's base frame. A ray's parameter along (x/z, y/z, 1) in the
    optical frame is the optical depth, which is what a depth camera reports.
    """
    from perception.core.sensor_points import OPTICAL_TO_BODY
    fx, fy, cx, cy = intrinsics
    v, u = np.mgrid[0:height, 0:width]
    rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones(u.shape)], -1).reshape(-1, 3)
    d = rays @ (mount.rotation() @ OPTICAL_TO_BODY).T
    o = np.array([mount.x, mount.y, mount.z])
    best = np.full(len(d), np.inf)
    if floor:
        with np.errstate(divide='ignore', invalid='ignore'):
            t = -o[2] / d[:, 2]
        best = np.where((d[:, 2] < 0) & (t > 0), t, best)
    for box in boxes:
        low, high = np.array(box[0::2], float), np.array(box[1::2], float)
        with np.errstate(divide='ignore', invalid='ignore'):
            t1, t2 = (low - o) / d, (high - o) / d
        near = np.nanmax(np.minimum(t1, t2), 1)
        far = np.nanmin(np.maximum(t1, t2), 1)
        hit = (near <= far) & (far > 0)
        best = np.where(hit & (near < best), np.maximum(near, 0), best)
    best[best > max_range] = np.nan
    return best.reshape(height, width).astype(np.float32)


def publish_until(publish, predicate, timeout=20.0, period=0.05):
    """Call publish every period until predicate holds (True) or the timeout passes (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        publish()
        if predicate():
            return True
        time.sleep(period)
    return False


def write_bag(path, topics, storage='sqlite3', count=6):
    """Write a rosbag2 bag: topics maps a name to 'rgb8', 'bgr8', 'mono8', 'jpeg' or 'odom'."""
    import cv2
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import get_typestore, Stores
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(path, version=8, storage_plugin=plugin) as writer:
        for topic, kind in topics.items():
            msgtype = {'jpeg': 'sensor_msgs/msg/CompressedImage',
                       'odom': 'std_msgs/msg/String'}.get(kind, 'sensor_msgs/msg/Image')
            connection = writer.add_connection(topic, msgtype, typestore=store)
            for i in range(count):
                stamp = types['builtin_interfaces/msg/Time'](sec=i, nanosec=0)
                header = types['std_msgs/msg/Header'](stamp=stamp, frame_id='camera')
                image = np.zeros((48, 64, 3), np.uint8)
                image[:, :, 0] = 200  # red in RGB
                image[:, :8 * i] = 60
                if kind == 'jpeg':
                    data = cv2.imencode('.jpg', image[:, :, ::-1])[1].reshape(-1)
                    msg = types[msgtype](header=header, format='jpeg', data=data)
                elif kind == 'odom':
                    msg = types[msgtype](data='not an image')
                else:
                    pixels = {'rgb8': image, 'bgr8': image[:, :, ::-1],
                              'mono8': image[:, :, 0]}[kind]
                    channels = 1 if kind == 'mono8' else 3
                    msg = types[msgtype](header=header, height=48, width=64, encoding=kind,
                                         is_bigendian=0, step=64 * channels,
                                         data=np.ascontiguousarray(pixels).reshape(-1))
                writer.write(connection, (i + 1) * 10 ** 9, store.serialize_cdr(msg, msgtype))
    return str(path)


#: Why the tests of the launch files skip where they do.
NO_LAUNCH_ROS = ('launch_ros is not installed here (no wheel exists); set '
                 'PERCEPTION_LAUNCH_PYTHON to a python3 that has it')


def launch_python():
    """Return a python3 that has launch_ros: this one, or PERCEPTION_LAUNCH_PYTHON; or None."""
    candidates = [sys.executable, os.environ.get('PERCEPTION_LAUNCH_PYTHON', '')]
    for python in filter(None, candidates):
        probe = subprocess.run([python, '-c', 'import launch_ros'], capture_output=True)
        if probe.returncode == 0:
            return python
    return None


class MqttReceiver:
    """
    A plain paho subscriber to one robot's telemetry, independent of the code under test.

    It keeps every message as it arrives (duplicates included) on a persistent session, so a
    broker that saved its state keeps queueing for it while it reconnects.
    """

    def __init__(self, port, robot, tls=None, login=None,
                 kinds=('status', 'summary', 'event', 'snapshot')):
        import uuid
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        self.received = []          # (kind, message, retained) in arrival order
        self.raw = []               # (topic, payload) of what is not a message of ours
        self.subscribed = threading.Event()
        self.lock = threading.Lock()
        self.robot = robot
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=f'test-receiver-{uuid.uuid4().hex[:8]}')
        if tls:
            self.client.tls_set(ca_certs=tls['ca'], certfile=tls['client_cert'],
                                keyfile=tls['client_key'])
        if login:
            self.client.username_pw_set(*login)
        self.client.reconnect_delay_set(1, 2)
        topics = [(f'perception/{robot}/{kind}', 1) for kind in kinds]
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topics)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect_async('127.0.0.1', port, 10, clean_start=False,
                                  properties=properties)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, message):
        import json
        try:
            data = json.loads(message.payload)
        except ValueError:
            self.raw.append((message.topic, message.payload))
            return
        with self.lock:
            self.received.append((message.topic.rsplit('/', 1)[1], data, message.retain))

    def messages(self, kind):
        """Return the messages of a kind, duplicates dropped by id, in arrival order."""
        seen, out = set(), []
        with self.lock:
            for k, message, _retained in self.received:
                if k == kind and message['id'] not in seen:
                    seen.add(message['id'])
                    out.append(message)
        return out

    def count(self, kind):
        """Return how many messages of a kind arrived, duplicates included."""
        with self.lock:
            return sum(1 for k, _m, _r in self.received if k == kind)

    def request(self, payload):
        self.client.publish(f'perception/{self.robot}/request', payload, qos=1)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def make_certificates(directory):
    """
    Write test certificates; return their paths.

    A CA, a broker certificate (localhost, 127.0.0.1) and a client certificate it signed, and a
    second CA that signed nothing here.
    """
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    paths = {}

    def write(name, data):
        path = os.path.join(str(directory), name)
        with open(path, 'wb') as stream:
            stream.write(data)
        paths[name.replace('.pem', '').replace('.', '_')] = path
        return path

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    def certificate(subject, key, issuer, issuer_key, ca=False, names=()):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                  critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)),
                                            critical=False)
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    write('ca.pem', certificate('test CA', ca_key, 'test CA', ca_key, ca=True))
    server_key = ec.generate_private_key(ec.SECP256R1())
    write('server.key', key_pem(server_key))
    write('server.pem', certificate('localhost', server_key, 'test CA', ca_key, names=(
        x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1')))))
    client_key = ec.generate_private_key(ec.SECP256R1())
    write('client.key', key_pem(client_key))
    write('client.pem', certificate('robot', client_key, 'test CA', ca_key))
    other_key = ec.generate_private_key(ec.SECP256R1())
    write('other_ca.pem', certificate('another CA', other_key, 'another CA', other_key,
                                      ca=True))
    return {'ca': paths['ca'], 'server_cert': paths['server'], 'server_key': paths['server_key'],
            'client_cert': paths['client'], 'client_key': paths['client_key'],
            'other_ca': paths['other_ca']}
