"""pyrunc_shim"""
