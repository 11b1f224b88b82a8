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

"""The detector's model lifecycle in a process of its own: offers, shadow, swap, rollback."""

import os
import shutil
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from perception.conversions import numpy_to_image, stamp_from_ns, stamp_to_ns
from perception.core import bundle as bundles
from perception.core.drift import build_reference, image_stats
from perception.core.model_store import ModelStore
from perception.modeltools import faults
from perception.qos import RELIABLE_QOS, SENSOR_QOS
from support import constant_manifest, LABELS, SCENE, Spinner, wait_until

pytestmark = pytest.mark.node


class Robot:
    """A camera publishing frames of a chosen brightness, and what the detector says back."""

    def __init__(self, context):
        self.node = Node('lifecycle_probe', context=context)
        self.pub = self.node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.detections, self.events, self.statuses, self.stamps = [], [], {}, []
        self.node.create_subscription(Detection2DArray, 'detections', self.detections.append,
                                      RELIABLE_QOS)
        self.node.create_subscription(DiagnosticStatus, 'telemetry/events', self.events.append,
                                      RELIABLE_QOS)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      RELIABLE_QOS)
        self.spinner = Spinner(self.node, context)
        self.level = 40
        self.rng = np.random.default_rng(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()

    def _on_diagnostics(self, msg):
        for status in msg.status:
            self.statuses[status.name] = status

    def _send(self):
        while not self._stop.is_set():
            image = np.clip(self.rng.normal(self.level, 8, (480, 640, 3)), 0, 255)
            stamp = time.time_ns()
            msg = numpy_to_image(image.astype(np.uint8), 'bgr8')
            msg.header.stamp, msg.header.frame_id = stamp_from_ns(stamp), 'camera_optical_frame'
            self.stamps.append(stamp)
            self.pub.publish(msg)
            time.sleep(1 / 20)

    def event(self, name, after=0):
        return next((e for e in self.events[after:] if e.name == name), None)

    def wait_event(self, name, timeout=90.0, after=0):
        assert wait_until(lambda: self.event(name, after) is not None, timeout), \
            [(e.name, e.message) for e in self.events]
        return self.event(name, after)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.spinner.close()


def values(event):
    return {kv.key: kv.value for kv in event.values}


@pytest.fixture
def robot(ros_context):
    robot = Robot(ros_context)
    yield robot
    robot.close()


@pytest.fixture
def setup(detector_lifecycle):
    """Keys, the shipped model and a detector starter with the lifecycle switched on."""
    return detector_lifecycle


def derived(setup, name, make):
    """Write a model made from the shipped one by a faults function, with its manifest."""
    directory = str(setup['dir'])
    make(os.path.join(directory, 'shipped.onnx'), os.path.join(directory, f'{name}.onnx'))
    faults.with_manifest(setup['shipped'], os.path.join(directory, f'{name}.onnx'),
                         os.path.join(directory, f'{name}.yaml'))
    return os.path.join(directory, f'{name}.yaml')


def serving(robot):
    """Tell whether detections keep coming (the active model serves)."""
    before = len(robot.detections)
    return wait_until(lambda: len(robot.detections) >= before + 5, 30)


def test_a_good_candidate_is_shadowed_promoted_without_a_lost_frame_and_kept(setup, robot):
    node = setup['start']()
    assert wait_until(lambda: robot.detections, 60), node.output()
    setup['offer'](constant_manifest(setup['dir'], 'better', SCENE), 1)
    assert values(robot.wait_event('model_installed'))['version'] == '1'
    robot.wait_event('shadow_started')
    promoted = values(robot.wait_event('model_promoted'))
    assert promoted['frames_dropped_at_swap'] == '0', promoted
    assert float(promoted['agreement']) == 1.0 and int(promoted['frames']) >= 20
    # Measured from outside too: the new model's first frame is the next camera frame the
    # detector received after the old model's last (no frame between them went unanswered).
    last_old, first_new = (int(promoted[k].replace('.', '')) for k in
                           ('last_old_stamp', 'first_new_stamp'))
    answered = {stamp_to_ns(d.header.stamp) for d in robot.detections}
    assert last_old in answered and first_new in answered
    assert [s for s in robot.stamps if last_old < s < first_new] == []
    robot.wait_event('model_committed')
    store = ModelStore(setup['model_dir'])
    # Kept: the shipped model stays as the previous one, for a rollback by hand.
    assert (store.slot('active'), store.slot('previous'), store.pending) == (1, 0, False)
    assert wait_until(lambda: robot.statuses.get('detector: model') is not None and
                      {kv.key: kv.value for kv in robot.statuses['detector: model'].values}
                      .get('version') == '1', 20)
    # A replay of the same version, and an older one, are refused; the model keeps serving.
    count = len(robot.events)
    setup['offer'](setup['shipped'], 1, name='replay.bundle')
    refused = robot.wait_event('model_refused', after=count)
    assert 'not newer' in values(refused)['reason']
    assert serving(robot)


def test_every_bad_offer_is_refused_with_a_reason_and_the_model_keeps_serving(setup, robot):
    node = setup['start']()
    assert wait_until(lambda: robot.detections, 60), node.output()
    directory = setup['dir']
    tampered = setup['offer'](setup['shipped'], 2, name='tampered.bundle')
    inbox = os.path.join(setup['model_dir'], 'inbox')
    other = directory / 'other'
    other.mkdir()
    bundles.keygen(str(other / 'k.pem'), str(other / 'k.pub'))
    offers = {
        'unknown_key.bundle': lambda p: bundles.make_bundle(setup['shipped'], 3,
                                                            str(other / 'k.pem'), p),
        'cats.bundle': lambda p: bundles.make_bundle(
            constant_manifest(directory, 'cats', SCENE, labels=['cat', 'dog', 'bird', 'box']),
            4, setup['private'], p),
        'truncated.bundle': lambda p: open(p, 'wb').write(open(tampered, 'rb').read()[:1500]),
        'garbage.bundle': lambda p: open(p, 'wb').write(b'\x00not a bundle' * 10),
    }
    import tarfile
    with tarfile.open(os.path.join(inbox, 'tampered.bundle')) as archive:
        at = archive.getmember('model.onnx').offset_data + 100
    with open(os.path.join(inbox, 'tampered.bundle'), 'r+b') as stream:
        stream.seek(at)
        stream.write(b'\xff\xfe')
    for name, make in offers.items():
        make(str(directory / name))
        shutil.copy(str(directory / name), inbox)
    reasons = {}
    assert wait_until(lambda: len([e for e in robot.events if e.name == 'model_refused']) >= 5,
                      60), [(e.name, e.message) for e in robot.events]
    for event in robot.events:
        if event.name == 'model_refused':
            reasons[values(event)['bundle']] = values(event)['reason']
    assert 'tampered or corrupt' in reasons['tampered.bundle']
    assert 'does not trust' in reasons['unknown_key.bundle']
    assert 'labels' in reasons['cats.bundle']
    assert 'truncated' in reasons['truncated.bundle']
    assert 'not a bundle' in reasons['garbage.bundle']
    assert sorted(os.listdir(os.path.join(inbox, 'refused'))) == sorted(
        list(reasons) + [n + '.reason' for n in reasons])
    assert serving(robot) and node.alive()
    assert ModelStore(setup['model_dir']).slot('active') == 0


@pytest.mark.parametrize('kind,reason', [
    ('disagreeing', 'agrees with the active model on 0%'),
    ('unloadable', 'cannot load'),
    ('failing', 'inference failed'),
    ('slow', 'the frame budget'),
])
def test_a_bad_candidate_is_rejected_with_its_reasons(setup, robot, kind, reason):
    node = setup['start'](frame_budget_ms=30.0)
    assert wait_until(lambda: robot.detections, 60), node.output()
    if kind == 'disagreeing':  # sees a forklift where the active model sees a person
        manifest = constant_manifest(setup['dir'], kind, [(300, 60, 40, 40, 1, 0.9),
                                                          (200, 250, 30, 30, 3, 0.8)])
    elif kind == 'unloadable':
        manifest = derived(setup, kind, faults.failing_always)
    elif kind == 'failing':
        manifest = derived(setup, kind, lambda a, b: faults.failing_when_bright(a, b, -1.0))
    else:
        manifest = derived(setup, kind, lambda a, b: faults.slowed(a, b, size=1024, repeats=8))
    setup['offer'](manifest, 1)
    rejected = values(robot.wait_event('candidate_rejected', timeout=120))
    assert reason in rejected['reason'], rejected
    store = ModelStore(setup['model_dir'])
    assert store.slot('active') == 0 and store.slot('candidate') is None
    assert robot.event('model_promoted') is None
    assert serving(robot) and node.alive()
    level = wait_until(lambda: robot.statuses.get('detector: model') is not None and
                       robot.statuses['detector: model'].level == DiagnosticStatus.WARN, 20)
    assert level, robot.statuses.get('detector: model')


def test_a_promoted_model_that_starts_failing_is_rolled_back_by_itself(setup, robot):
    node = setup['start'](commit_window_s=60.0)
    assert wait_until(lambda: robot.detections, 60), node.output()
    # It passes its probe (noise) and shadow run (dim frames) and fails on bright frames.
    setup['offer'](derived(setup, 'fragile',
                           lambda a, b: faults.failing_when_bright(a, b, 0.6)), 1)
    robot.wait_event('model_promoted')
    robot.level = 200
    rolled = values(robot.wait_event('model_rolled_back', timeout=60))
    assert rolled['back_to'] == '0' and 'inference errors in a row' in rolled['reason']
    assert float(rolled['rollback_s']) < 5.0
    store = ModelStore(setup['model_dir'])
    assert (store.slot('active'), store.pending) == (0, False)
    assert serving(robot)  # the shipped model serves the bright frames


def test_a_restart_mid_update_finishes_it(setup, robot):
    node = setup['start'](commit_window_s=60.0)
    assert wait_until(lambda: robot.detections, 60), node.output()
    setup['offer'](constant_manifest(setup['dir'], 'next', SCENE), 1)
    robot.wait_event('model_promoted')
    node.kill()  # inside the commit window: promoted, not yet kept
    assert ModelStore(setup['model_dir']).pending
    count = len(robot.events)
    node = setup['start']()
    committed = robot.wait_event('model_committed', after=count)
    assert values(committed)['version'] == '1', node.output()
    assert ModelStore(setup['model_dir']).slot('active') == 1


def test_drift_stays_quiet_in_known_light_and_alarms_when_it_changes(setup, robot, tmp_path):
    # The reference: frames like those the camera sends at level 40 and 60.
    rng = np.random.default_rng(5)
    samples = [image_stats(np.clip(rng.normal(level, 8, (480, 640, 3)), 0, 255)
                           .astype(np.uint8)) for level in np.linspace(30, 70, 60)]
    reference = build_reference({k: [s[k] for s in samples] for k in samples[0]})
    manifest = constant_manifest(tmp_path, 'referenced', SCENE, drift_reference=reference)
    node = setup['start'](model_manifest=manifest, trusted_keys="''")
    assert wait_until(lambda: len(robot.detections) >= 150, 120), node.output()
    assert robot.event('drift') is None
    status = robot.statuses['detector: drift']
    assert status.level == DiagnosticStatus.OK, status
    robot.level = 220
    drift = values(robot.wait_event('drift', timeout=60))
    assert 'brightness' in drift['stats']
    assert float(drift['brightness.window_mean']) > float(drift['brightness.reference_high'])
    assert wait_until(lambda: robot.statuses['detector: drift'].level == DiagnosticStatus.WARN,
                      20)
    robot.level = 50
    robot.wait_event('drift_cleared', timeout=60)
    assert LABELS
