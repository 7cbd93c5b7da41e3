"""The state dir's files hold the process's env (the config as created): 0600, as runc's, never world-readable."""

import os
import stat


def test_state_files_are_private(rt, bundle):
    cid = rt.new_id()

    def secret(cfg):
        cfg["process"]["env"].append("SECRET=hunter2")

    rt("create", "--bundle", bundle(["sleep", "30"], edit=secret), cid)
    try:
        rt("update", "--pids-limit", "100", cid)  # rewrites the saved config
        state_dir = os.path.join(rt.root, cid)
        files = [n for n in os.listdir(state_dir) if stat.S_ISREG(os.lstat(os.path.join(state_dir, n)).st_mode)]
        assert "state.json" in files
        for name in files:
            mode = os.lstat(os.path.join(state_dir, name)).st_mode
            assert mode & 0o077 == 0, f"{name} is {oct(mode & 0o777)}"
    finally:
        rt("delete", "--force", cid, check=False)
