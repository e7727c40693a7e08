"""Notifications: who hears of each change (R9), the messages, the outbox's delivery, requests."""
