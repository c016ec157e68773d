/* Data-parallel training over MPI: a cantus_train_comm whose sums are MPI_Allreduce over
 * MPI_COMM_WORLD. Built when CMake finds MPI (option CANTUS_MPI); otherwise every call
 * says so. Errors come back to the caller (MPI_ERRORS_RETURN) so that the program can
 * name them; a rank that dies ends the job through the launcher. */
#include "cantus/train.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int env_int(const char *const names[], int fallback)
{
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*end && n > 0 && n < 1000000)
                return (int)n;
        }
    }
    return fallback;
}

/* The world size the launcher announced (Open MPI, MPICH/Hydra and PMIx launchers, and
 * a Slurm job step); 1 when none did. SLURM_NTASKS alone is not one: an sbatch script
 * has it before any srun. */
static int launcher_size(void)
{
    static const char *const size[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                       "SLURM_STEP_NUM_TASKS", NULL};
    return env_int(size, 1);
}

int cantus_mpi_launched(void)
{
    return launcher_size() > 1;
}

#ifdef CANTUS_HAVE_MPI
#include <mpi.h>

static int mpi_fail(int err, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0, rank = -1;
    MPI_Error_string(err, msg, &len);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return cantus_error(CANTUS_EIO, "MPI %s failed on rank %d (%s): a rank may have stopped",
                        what, rank, msg);
}

static int sum_f32(void *user, float *data, size_t n)
{
    (void)user;
    while (n) { /* counts are ints */
        int k = n > (1u << 30) ? 1 << 30 : (int)n;
        int err = MPI_Allreduce(MPI_IN_PLACE, data, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (err != MPI_SUCCESS)
            return mpi_fail(err, "Allreduce");
        data += k;
        n -= (size_t)k;
    }
    return 0;
}

static int sum_f64(void *user, double *data, size_t n)
{
    (void)user;
    int err = MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return err == MPI_SUCCESS ? 0 : mpi_fail(err, "Allreduce");
}

int cantus_mpi_available(void)
{
    return 1;
}

static int local_size = 1;

int cantus_mpi_local_size(void)
{
    return local_size;
}

int cantus_mpi_init(cantus_train_comm *comm)
{
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return cantus_error(CANTUS_EIO, "MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    memset(comm, 0, sizeof *comm);
    MPI_Comm_rank(MPI_COMM_WORLD, &comm->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &comm->size);
    comm->sum_f32 = sum_f32;
    comm->sum_f64 = sum_f64;
    /* a launcher of another MPI (Open MPI's mpirun starting an MPICH build, say) gives
     * every process a world of its own: each would think it is rank 0 and write the
     * same files */
    if (comm->size != launcher_size()) {
        int announced = launcher_size();
        cantus_mpi_finalize();
        return cantus_error(CANTUS_EUNSUPPORTED,
                            "the launcher started %d processes but MPI sees a world of %d: "
                            "start cantus with the mpirun of the MPI it was built with",
                            announced, comm->size);
    }
    /* the ranks on this machine, which share its cores */
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local_size);
        MPI_Comm_free(&node);
    }
    return 0;
}

void cantus_mpi_finalize(void)
{
    int ready = 0, done = 0;
    MPI_Initialized(&ready);
    MPI_Finalized(&done);
    if (ready && !done)
        MPI_Finalize();
}

void cantus_mpi_abort(int status)
{
    int ready = 0;
    MPI_Initialized(&ready);
    if (ready)
        MPI_Abort(MPI_COMM_WORLD, status);
}

#else

int cantus_mpi_available(void)
{
    return 0;
}

int cantus_mpi_local_size(void)
{
    return 1;
}

int cantus_mpi_init(cantus_train_comm *comm)
{
    memset(comm, 0, sizeof *comm);
    return cantus_error(CANTUS_EUNSUPPORTED,
                        "this cantus was built without MPI (install libopenmpi-dev and rebuild)");
}

void cantus_mpi_finalize(void)
{
}

void cantus_mpi_abort(int status)
{
    (void)status;
}

#endif
