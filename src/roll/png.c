/* The piano roll as a PNG file, through libpng: encoded in memory, written atomically. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cantus/roll.h"
#include "core/atomic.h"
#include "core/error.h"

struct png_out {
    uint8_t *data;
    size_t size, cap;
    int oom;
    char message[128];
};

static void write_bytes(png_structp png, png_bytep bytes, size_t n)
{
    struct png_out *o = png_get_io_ptr(png);
    if (o->oom)
        return;
    if (o->size + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->size + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d) {
            o->oom = 1;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->size, bytes, n);
    o->size += n;
}

static void flush_bytes(png_structp png)
{
    (void)png;
}

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_out *o = png_get_error_ptr(png);
    snprintf(o->message, sizeof o->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Everything that may longjmp, apart from the caller's locals. */
static int encode(const cantus_roll_image *img, struct png_out *o)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return cantus_error(CANTUS_ENOMEM, "roll: out of memory for the PNG encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return cantus_error(CANTUS_EIO, "roll: PNG encoding failed: %s", o->message);
    }
    png_set_write_fn(png, o, write_bytes, flush_bytes);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int32_t y = 0; y < img->height; y++)
        png_write_row(png, img->rgb + (size_t)y * (size_t)img->width * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (o->oom)
        return cantus_error(CANTUS_ENOMEM, "roll: out of memory for the PNG file");
    return 0;
}

int cantus_roll_encode_png(const cantus_roll_image *img, uint8_t **data, size_t *size)
{
    if (!img || !img->rgb || img->width < 1 || img->height < 1 || !data || !size)
        return cantus_error(CANTUS_EINVAL, "roll: no picture to encode");
    struct png_out o;
    memset(&o, 0, sizeof o);
    int rc = encode(img, &o);
    if (rc) {
        free(o.data);
        return rc;
    }
    *data = o.data;
    *size = o.size;
    return 0;
}

int cantus_roll_write_file(const cantus_score *score, const cantus_roll_params *params,
                           const char *path)
{
    if (!path)
        return cantus_error(CANTUS_EINVAL, "roll: no file name");
    cantus_roll_image img;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cantus_roll_render(&img, score, params);
    if (rc)
        return cantus_error_prefix(rc, path);
    rc = cantus_roll_encode_png(&img, &data, &size);
    cantus_roll_image_release(&img);
    if (!rc)
        rc = cantus_atomic_write(path, data, size);
    else
        rc = cantus_error_prefix(rc, path);
    free(data);
    return rc;
}
