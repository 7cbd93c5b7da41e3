"""pyruncd"""
