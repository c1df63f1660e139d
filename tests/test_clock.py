import pytest

from emulator.clock import Clock


def test_platform_durations_scale_to_wall_time() -> None:
    clock = Clock(time_scale=0.05)
    assert clock.wall(600) == pytest.approx(30.0)
    assert clock.platform(30.0) == pytest.approx(600.0)


@pytest.mark.parametrize("scale", [0, -1, 1.5])
def test_time_scale_outside_zero_one_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="time scale"):
        Clock(time_scale=scale)
