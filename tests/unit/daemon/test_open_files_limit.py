"""pyruncd raises its open-files soft limit to the hard one: each running container holds some of its
descriptors, and a systemd default of 1024 would stop it near 200 containers."""

import resource
import subprocess
import sys


def test_the_soft_limit_goes_up_to_the_hard_one():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    out = subprocess.run(
        [sys.executable, "-c", "import resource; from pyruncd.main import _raise_open_files_limit as r; r(); "
                               "print(*resource.getrlimit(resource.RLIMIT_NOFILE))"],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)),
        capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(hard), str(hard)]
