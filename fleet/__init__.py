"""The client side of Azure: one Flexible scale set seen and changed through the Azure SDK.

Inventory (what the set holds), selection and the blast-radius guard, the fault drivers
(fleet/faults), the journal every fault is written to before it is injected, the injector that
runs every fault the same way, rollback, evidence and the design review. Shares no code with
emulator/ (the server side): they meet only over HTTP.
"""
