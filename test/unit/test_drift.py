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

"""The drift monitor: statistics of frames, the reference, quiet and alarm."""

import math

import numpy as np
import pytest

from perception.core.drift import build_reference, DriftMonitor, image_stats, is_finite_entry
from perception.core.drift import output_stats, PageHinkley, psi


def test_image_statistics_follow_light_contrast_and_detail():
    rng = np.random.default_rng(0)
    dark = np.full((480, 640, 3), 20, np.uint8)
    bright = np.full((480, 640, 3), 220, np.uint8)
    assert image_stats(dark)['brightness'] < 0.1 < 0.8 < image_stats(bright)['brightness']
    assert image_stats(dark)['contrast'] < 1e-6 and image_stats(dark)['sharpness'] < 1e-6
    noise = rng.integers(100, 130, (480, 640, 3), np.uint8)
    blurred = np.repeat(np.repeat(noise[::16, ::16], 16, 0), 16, 1)
    assert image_stats(noise)['sharpness'] > 2 * image_stats(blurred)['sharpness']
    assert image_stats(rng.integers(0, 256, (480, 640, 3), np.uint8))['contrast'] > 0.15


def test_output_statistics_count_each_class_and_average_the_confidence():
    stats = output_stats(np.array([0.5, 0.7, 0.9]), np.array([0, 0, 3]), ['a', 'b', 'c', 'd'])
    assert stats == {'count_a': 2.0, 'count_b': 0.0, 'count_c': 0.0, 'count_d': 1.0,
                     'confidence': pytest.approx(0.7)}
    assert 'confidence' not in output_stats(np.array([]), np.array([], np.int64), ['a'])


def reference(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return build_reference({'brightness': rng.uniform(0.05, 0.3, n),
                            'count_person': rng.integers(0, 5, n).astype(float)})


def test_the_reference_holds_a_range_and_a_histogram():
    ref = reference()
    b = ref['brightness']
    assert b['low'] < 0.06 and b['high'] > 0.29 and b['samples'] == 400
    assert is_finite_entry(b) and sum(b['proportions']) == pytest.approx(1.0, abs=1e-5)
    assert build_reference({'x': [1.0] * 5}) == {}  # too few samples to say what is usual
    broken = dict(b, low=math.nan)
    assert not is_finite_entry(broken) and not is_finite_entry({'low': 0})


def test_a_monitor_ignores_unusable_reference_entries():
    ref = reference()
    ref['contrast'] = {'low': 0.0, 'high': math.inf, 'edges': [], 'proportions': [1.0]}
    assert set(DriftMonitor(ref).reference) == {'brightness', 'count_person'}


def test_psi_is_small_for_the_same_distribution_and_large_for_another():
    ref = reference()['brightness']
    rng = np.random.default_rng(1)
    assert psi(ref, rng.uniform(0.05, 0.3, 400)) < 0.1
    assert psi(ref, rng.uniform(0.25, 0.3, 400)) > 1.0


def test_page_hinkley_trips_on_a_run_of_outside_frames_not_on_scattered_ones():
    test = PageHinkley(threshold=10)
    assert not any(test.update(float(i % 3 == 0)) for i in range(1000))  # a third outside
    assert [test.update(1.0) for _ in range(20)][-1]


def test_an_in_distribution_stream_that_sits_in_one_place_raises_no_alarm():
    """Frames of one aisle: a narrow part of the reference (a large PSI), never outside it."""
    monitor = DriftMonitor(reference(), window=300, alarm_frames=15)
    rng = np.random.default_rng(2)
    for _ in range(3000):
        monitor.add({'brightness': rng.normal(0.28, 0.01), 'count_person': 1.0})
        assert monitor.findings() == []
    assert monitor.scores()['brightness'] > 0.25  # the PSI says 'different', rightly ignored


def test_a_change_of_light_alarms_within_the_frames_asked_and_clears_after():
    monitor = DriftMonitor(reference(), window=300, alarm_frames=15)
    for _ in range(200):
        monitor.add({'brightness': 0.2})
    frames = 0
    while not monitor.findings():
        monitor.add({'brightness': 0.6})
        frames += 1
    assert frames == 30  # excess 0.5 a frame: 15 / 0.5
    finding = monitor.findings()[0]
    assert finding.stat == 'brightness' and finding.window_mean > finding.reference_high
    assert 'above the reference range' in finding.describe()
    for _ in range(100):
        monitor.add({'brightness': 0.2})
    assert monitor.findings() == []


def test_non_finite_values_are_skipped():
    monitor = DriftMonitor(reference(), alarm_frames=2)
    for _ in range(50):
        monitor.add({'brightness': math.nan, 'unknown': 3.0})
    assert monitor.findings() == [] and monitor.frames == 50
