"""Notifications: who hears of each change (R9), and, later, the messages and their delivery."""
