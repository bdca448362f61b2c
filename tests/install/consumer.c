/* A program outside the tree, built against the installed library. */
#include <peermesh/peermesh.h>

#include <stdio.h>

int main(void)
{
    pm_rtc_config cfg;
    pm_rtc_config_default(&cfg);
    cfg.bind_address = "127.0.0.1";
    pm_rtc_peer *pc;
    int rc = pm_rtc_peer_new(&cfg, &pc);
    if (rc == PM_OK && pm_rtc_peer_local_port(pc) == 0)
        rc = PM_ERR_IO;
    printf("peermesh %s: %s\n", PM_VERSION_STRING, pm_strerror(rc));
    pm_rtc_peer_free(pc);
    return rc == PM_OK ? 0 : 1;
}
