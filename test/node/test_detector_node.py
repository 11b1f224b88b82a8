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

"""The detector node in a process of its own, fed images and heard from this one."""

import threading
import time

import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray
import yaml

from perception.conversions import numpy_to_image, stamp_from_ns, stamp_to_ns
from perception.core.model import sha256_of
from perception.qos import RELIABLE_QOS, SENSOR_QOS
from support import constant_model, LABELS, NodeStarter, publish_until, Spinner, wait_until
from support import yolov8_output

pytestmark = pytest.mark.node


@pytest.fixture
def model(tmp_path):
    """Write a synthetic model that always sees a person and a pallet, and its manifest."""
    out = yolov8_output([(160, 160, 50, 100, 0, 0.9), (60, 200, 40, 40, 2, 0.7)])
    path = constant_model(tmp_path / 'synthetic.onnx', out)
    manifest = tmp_path / 'synthetic.yaml'
    manifest.write_text(yaml.safe_dump({'file': 'synthetic.onnx', 'labels': LABELS,
                                        'sha256': sha256_of(path)}))
    return str(manifest)


@pytest.fixture
def detector(tmp_path):
    starter = NodeStarter('detector_node', tmp_path)
    yield starter
    starter.kill_all()


class Camera:
    """Publishes 640x480 frames and keeps the detections and drawn images it gets back."""

    def __init__(self, context):
        self.node = Node('fake_camera', context=context)
        self.pub = self.node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.detections = []
        self.images = []
        self.node.create_subscription(Detection2DArray, 'detections', self.detections.append,
                                      RELIABLE_QOS)
        self.spinner = Spinner(self.node, context)
        self.stamps = []

    def listen_to_drawings(self):
        self.node.create_subscription(Image, 'detections/image', self.images.append, SENSOR_QOS)

    def send(self, count, rate=30.0, encoding='bgr8', stop=None):
        for _ in range(count):
            if stop is not None and stop.is_set():
                return
            self._send_one(encoding)
            time.sleep(1 / rate)

    def _send_one(self, encoding='bgr8'):
        stamp = time.time_ns()
        msg = numpy_to_image(np.zeros((480, 640, 3), np.uint8), encoding)
        msg.header.stamp, msg.header.frame_id = stamp_from_ns(stamp), 'camera_optical_frame'
        self.stamps.append(stamp)
        self.pub.publish(msg)

    def send_until(self, predicate, timeout=30.0):
        """Send frames at 30 Hz until predicate holds: the detector may still be starting."""
        return publish_until(self._send_one, predicate, timeout, 1 / 30)


@pytest.fixture
def camera(ros_context):
    camera = Camera(ros_context)
    yield camera
    camera.spinner.close()


def test_detections_carry_the_image_stamp_and_boxes_in_its_pixels(detector, model, camera):
    node = detector('-p', f'model_manifest:={model}', '-p', 'providers:=[cuda, cpu]')
    assert wait_until(lambda: 'on CPUExecutionProvider' in node.output(), 30), node.output()
    camera.listen_to_drawings()
    assert camera.send_until(lambda: len(camera.detections) >= 20), node.output()
    result = camera.detections[-1]
    assert stamp_to_ns(result.header.stamp) in camera.stamps
    assert result.header.frame_id == 'camera_optical_frame'
    found = {d.results[0].hypothesis.class_id: d for d in result.detections}
    assert set(found) == {'person', 'pallet'}
    person = found['person'].bbox
    # The model's (160, 160, 50, 100) box in a 320x320 letterbox of a 640x480 frame.
    assert (person.center.position.x, person.center.position.y) == (320.0, 240.0)
    assert (person.size_x, person.size_y) == (100.0, 200.0)
    assert found['person'].results[0].hypothesis.score == pytest.approx(0.9)
    assert wait_until(lambda: camera.images, 15)  # drawn, since someone listens
    assert 'not available here: CUDAExecutionProvider' in node.output()


def test_classes_filter_and_disabling_at_run_time(detector, model, camera, tmp_path):
    node = detector('-p', f'model_manifest:={model}', '-p', 'classes:=[pallet]')
    assert wait_until(lambda: 'on CPUExecutionProvider' in node.output(), 30), node.output()
    assert camera.send_until(lambda: camera.detections), node.output()
    assert [d.results[0].hypothesis.class_id for d in camera.detections[-1].detections] == \
        ['pallet']
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    client = camera.node.create_client(SetParameters, '/detector/set_parameters')
    assert client.wait_for_service(10)
    future = client.call_async(SetParameters.Request(
        parameters=[Parameter('enabled', value=False).to_parameter_msg()]))
    assert wait_until(future.done, 30) and future.result().results[0].successful
    # Results of frames already taken may still come: wait until they have stopped.
    counts = []
    assert wait_until(lambda: counts.append(len(camera.detections)) or
                      (len(counts) > 20 and counts[-1] == counts[-21]), 30)
    before = len(camera.detections)
    camera.send(30)
    time.sleep(1.0)
    assert len(camera.detections) == before


def test_it_keeps_up_by_dropping_old_frames_not_by_queueing(detector, model, camera):
    node = detector('-p', f'model_manifest:={model}')
    assert wait_until(lambda: 'on CPUExecutionProvider' in node.output(), 30), node.output()
    assert camera.send_until(lambda: camera.detections), node.output()
    camera.send(90, rate=90.0)
    # Wait until the results have stopped coming (a busy machine may take a while).
    counts = []
    assert wait_until(lambda: counts.append(len(camera.detections)) or
                      (len(counts) > 20 and counts[-1] == counts[-21] > 0), 30)
    stamps = [stamp_to_ns(d.header.stamp) for d in camera.detections]
    # Never an older frame after a newer one, never a frame twice, at most one result a
    # frame, and the newest frame's result last: nothing waits in a queue.
    assert stamps == sorted(set(stamps)) and len(stamps) <= len(camera.stamps)
    assert stamps[-1] == camera.stamps[-1]


@pytest.mark.parametrize('override,message', [
    ('model_manifest:=/nonexistent/model.yaml', 'cannot read model manifest'),
    ('classes:=[unicorn]', 'classes names unicorn'),
])
def test_bad_configuration_exits_with_a_clear_message(detector, model, override, message):
    args = ['-p', f'model_manifest:={model}', '-p', override] if 'classes' in override else \
        ['-p', override]
    node = detector(*args)
    assert node.process.wait(30) == 2
    assert message in node.output()


def test_a_tampered_model_is_refused(detector, model, tmp_path):
    with open(tmp_path / 'synthetic.onnx', 'ab') as stream:
        stream.write(b'\0')
    node = detector('-p', f'model_manifest:={model}')
    assert node.process.wait(30) == 2
    assert 'corrupt or tampered' in node.output()


def test_interrupting_a_busy_detector_ends_cleanly_every_time(detector, model, camera):
    """SIGINT while the inference thread publishes: no RCLError, no traceback, status 0."""
    for attempt in range(5):
        node = detector('-p', f'model_manifest:={model}')
        assert wait_until(lambda: 'on CPUExecutionProvider' in node.output(), 30), node.output()
        stop = threading.Event()
        sender = threading.Thread(target=camera.send, args=(100000, 100.0), kwargs={'stop': stop})
        before = len(camera.detections)
        sender.start()
        try:
            # Frames keep coming until after the signal, so it lands while the thread is busy.
            assert wait_until(lambda: len(camera.detections) >= before + 5, 20), node.output()
            code, _ = node.interrupt(timeout=15)
        finally:
            stop.set()
            sender.join()
        output = node.output()
        assert code == 0, f'attempt {attempt}: exit status {code}\n{output}'
        for bad in ('Traceback', 'RCLError', 'context is invalid', 'Failed to publish'):
            assert bad not in output, f'attempt {attempt}: {bad!r} in\n{output}'


def test_without_onnxruntime_the_node_says_how_to_install_it(detector, model, tmp_path):
    # A module of that name that cannot be imported, ahead of the real one on the path.
    shadow = tmp_path / 'shadow' / 'onnxruntime'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text("raise ImportError('no onnxruntime in this test')\n")
    node = detector('-p', f'model_manifest:={model}', env={'PYTHONPATH': str(shadow.parent)})
    assert node.process.wait(30) == 2, node.output()
    output = node.output()
    assert '[FATAL] onnxruntime (ONNX Runtime' in output, output
    assert 'python3-onnxruntime-pip' in output and 'pip install onnxruntime' in output, output
    assert 'Traceback' not in output, output
