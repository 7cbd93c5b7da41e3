"""pyctl"""
