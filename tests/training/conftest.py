from tests.notify.loopback import sms_gateway, smtp_inbox

__all__ = ["sms_gateway", "smtp_inbox"]
